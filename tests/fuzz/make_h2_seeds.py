#!/usr/bin/env python3
# Writes the HTTP/2 fuzz seeds in tests/fuzz/corpus/h2 (run from there) with
# Debian's python3-h2: the client's bytes after the preface, behind one byte
# that picks the piece size.
import h2.connection, h2.config, struct, os
def conn():
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    c.initiate_connection()
    return c
def strip(c):
    d = c.data_to_send()
    return d[24:] if d.startswith(b'PRI * HTTP/2.0') else d
def save(name, piece, data):
    open(name, 'wb').write(bytes([piece]) + data)
base=[(':method','GET'),(':scheme','http'),(':authority','api.example.com'),(':path','/orders/1?x=1')]
c=conn(); c.send_headers(1, base+[('authorization','Bearer a.b.c'),('cookie','a=1'),('cookie','b=2')], end_stream=True); save('get', 63, strip(c))
c=conn(); c.send_headers(1,[(':method','POST'),(':scheme','https'),(':authority','x'),(':path','/upload'),('content-length','12000')]); c.send_data(1,b'z'*6000); c.send_data(1,b'y'*4000); c.send_data(1,b'w'*2000, end_stream=True); save('post', 17, strip(c))
c=conn(); c.send_headers(1,[(':method','POST'),(':scheme','http'),(':authority','g'),(':path','/pkg.Svc/Call'),('content-type','application/grpc'),('te','trailers'),('grpc-timeout','5S')]); c.send_data(1,b'\x00\x00\x00\x00\x03abc', end_stream=True); save('grpc', 40, strip(c))
c=conn()
for i in range(1, 40, 2):
    c.send_headers(i, base); c.reset_stream(i)
save('reset', 9, strip(c))
c=conn(); c.ping(b'12345678'); c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 100}); c.increment_flow_control_window(1000); c.send_headers(1, base, end_stream=True); c.increment_flow_control_window(50, stream_id=1); save('control', 5, strip(c))
# A header block in HEADERS + CONTINUATION frames, built by hand.
c=conn(); pre=strip(c)
block = c.encoder.encode(base+[('x-long','v'*300)])
half=len(block)//2
hdr = struct.pack('>I', half)[1:] + bytes([1, 0x1]) + struct.pack('>I', 1)        # HEADERS, END_STREAM, no END_HEADERS
cont = struct.pack('>I', len(block)-half)[1:] + bytes([9, 0x4]) + struct.pack('>I', 1)  # CONTINUATION, END_HEADERS
save('continuation', 33, pre + hdr + block[:half] + cont + block[half:])
c=h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False, normalize_outbound_headers=False)); c.initiate_connection()
c.send_headers(1,[(':method','GET'),(':scheme','http'),(':authority','a'),(':path','/'),('connection','close')], end_stream=True); save('malformed', 63, strip(c))
