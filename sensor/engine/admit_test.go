package engine

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// TestAdmitFlow checks the memory-guard hook: while AdmitFlow says no, new
// streams are shed and counted, and a stream created before keeps being
// parsed to its end.
func TestAdmitFlow(t *testing.T) {
	var open atomic.Bool
	open.Store(true)
	col := &collector{}
	w := NewWorker(&Config{AdmitFlow: open.Load}, col)
	now := time.Unix(1_700_000_000, 0)
	send := func(conn uint64, port uint16, write bool, s string) {
		now = now.Add(time.Millisecond)
		w.Stream(&Chunk{Time: now, Conn: conn, PID: 7,
			Local:  netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port),
			Remote: netip.MustParseAddrPort("10.0.0.9:443"), Write: write, Data: []byte(s)})
	}
	const req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	const rsp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

	send(1, 40001, true, req) // admitted: the flow exists from here on
	open.Store(false)
	send(1, 40001, false, rsp)
	send(2, 40002, true, req) // refused: a new flow while the guard is closed
	send(2, 40002, false, rsp)
	open.Store(true)
	send(3, 40003, true, req)
	send(3, 40003, false, rsp)
	st := w.Finish()

	if got, want := len(col.exchanges), 2; got != want {
		t.Errorf("exchanges = %d; want %d (flows 1 and 3)", got, want)
	}
	if st.Shed != 2 {
		t.Errorf("Stats.Shed = %d; want 2 (both chunks of flow 2)", st.Shed)
	}
	if st.Flows != 2 {
		t.Errorf("Stats.Flows = %d; want 2", st.Flows)
	}
}
