#!/usr/bin/python3
# tests/hl7/appack_receiver.py PORT OUT [CERT KEY CA] -- an independent
# MLLP receiver for the node's enhanced-mode application acknowledgements:
# python3-hl7's asyncio server (hl7.mllp.start_hl7_server).  Each message
# received is appended to OUT as one JSON line (MSH-9, -10, -15, -16,
# MSA-1, -2, ERR code) and answered with python3-hl7's own accept ack CA.
# With CERT KEY CA: TLS, requiring a client certificate from CA.
import asyncio, json, ssl, sys

import hl7
import hl7.mllp

port, out = int(sys.argv[1]), sys.argv[2]


def field(msg, seg, f, comp=None):
    try:
        v = msg.segment(seg)[f]
        if comp is not None:
            v = v[0][comp - 1] if isinstance(v[0], list) else v
        return str(v)
    except (KeyError, IndexError):
        return ""


async def on_client(reader, writer):
    try:
        while not writer.is_closing():
            m = await reader.readmessage()
            err = ""
            try:
                err = str(m.segment("ERR")(3)(1)(1))
            except (KeyError, IndexError):
                pass
            rec = {"msh9": str(m.segment("MSH")(9)), "msh10": str(m.segment("MSH")(10)),
                   "msh15": str(m.segment("MSH")(15)), "msh16": str(m.segment("MSH")(16)),
                   "msa1": str(m.segment("MSA")(1)), "msa2": str(m.segment("MSA")(2)), "err": err}
            with open(out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            writer.writemessage(m.create_ack("CA"))
            await writer.drain()
    except asyncio.IncompleteReadError:
        pass
    finally:
        writer.close()


async def main():
    ctx = None
    if len(sys.argv) > 5:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        ctx.load_verify_locations(sys.argv[5])
        ctx.verify_mode = ssl.CERT_REQUIRED
    async with await hl7.mllp.start_hl7_server(on_client, "127.0.0.1", port, ssl=ctx) as server:
        print("listening", flush=True)
        await server.serve_forever()

asyncio.run(main())
