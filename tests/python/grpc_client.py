"""A client nobody on the rota team wrote: Python grpcio, with stubs generated at test time
from proto/ by grpcio-tools. Usage: grpc_client.py HOST:PORT PROTO_DIR ISBN"""
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc


def main():
    addr, proto_dir, isbn = sys.argv[1], sys.argv[2], sys.argv[3]
    out = tempfile.mkdtemp()
    rc = protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                      os.path.join(proto_dir, "rota/v1/rota.proto")])
    assert rc == 0, f"protoc failed: {rc}"
    sys.path.insert(0, out)
    from rota.v1 import rota_pb2 as pb, rota_pb2_grpc as rpc  # noqa: E402

    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=30)
    routing = rpc.RoutingStub(ch)
    r = routing.Route(pb.RouteRequest(request_id="py-1", borrower="L00001",
                                      citation=pb.Citation(isbn=isbn), max_lenders=3))
    assert r.request_id == "py-1", r
    assert 1 <= len(r.lenders) <= 3, r
    assert all(l.symbol != "L00001" for l in r.lenders)
    assert r.matches[0].method == "isbn"
    # streaming: the same lenders, one by one
    streamed = [l.symbol for l in routing.RouteStream(pb.RouteRequest(request_id="py-1", borrower="L00001",
                                                                       citation=pb.Citation(isbn=isbn), max_lenders=3))]
    assert streamed == [l.symbol for l in r.lenders], (streamed, r.lenders)
    # a bad request gets INVALID_ARGUMENT naming the field
    try:
        routing.Route(pb.RouteRequest(borrower="L00001", citation=pb.Citation(isbn="bogus")))
        raise AssertionError("bad isbn accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
        assert "isbn" in e.details(), e.details()
    # batch
    reqs = [pb.RouteRequest(request_id=f"py-b{i}", borrower="L00002", citation=pb.Citation(isbn=isbn)) for i in range(50)]
    got = list(routing.RouteBatch(iter(reqs)))
    assert sorted(x.request_id for x in got) == sorted(x.request_id for x in reqs)
    # events and stats
    events = rpc.EventsStub(ch)
    ack = events.ReportOne(pb.LenderEvent(request_id="py-1", borrower="L00001", lender=r.lenders[0].symbol,
                                          kind=pb.EVENT_KIND_SENT))
    assert ack.sequence > 0
    stats = rpc.CatalogStub(ch).Stats(pb.StatsRequest())
    assert stats.clusters > 0
    print("python client ok:", [l.symbol for l in r.lenders], "seq", ack.sequence)


if __name__ == "__main__":
    main()
