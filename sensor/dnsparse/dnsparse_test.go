package dnsparse

import (
	"errors"
	"testing"
)

// A response for WWW.Example.com: CNAME to edge.example.net, then an A and
// an AAAA record for the target, and a TXT record to skip. Names after the
// question use compression pointers.
var response = []byte{
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0,
	// question at 12: WWW.Example.com A IN
	3, 'W', 'W', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
	// answer 1 at 33: ptr->12 CNAME IN ttl 300, rdata "edge" + ptr->20 ("example.com")
	0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 0x2c, 0, 7, 4, 'e', 'd', 'g', 'e', 0xc0, 16,
	// answer 2 at 52: ptr->45 (edge.example.com) A 192.0.2.7
	0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7,
	// answer 3: ptr->45 AAAA 2001:db8::7
	0xc0, 45, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
	// answer 4: ptr->12 TXT "hi"
	0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 3, 2, 'h', 'i',
}

func TestParseResponse(t *testing.T) {
	var m Message
	if err := Parse(response, &m); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.ID != 0x1234 || !m.Response() || m.RCode() != 0 || m.Opcode() != 0 || m.Truncated() {
		t.Errorf("header: id %x response %v rcode %d; want 1234 true 0", m.ID, m.Response(), m.RCode())
	}
	if len(m.Questions) != 1 || string(m.Questions[0].Name) != "www.example.com" ||
		m.Questions[0].Type != TypeA || m.Questions[0].Class != ClassIN {
		t.Fatalf("Questions = %+v; want www.example.com A IN", m.Questions)
	}
	want := []struct {
		name, target string
		typ          uint16
		addr         string
	}{
		{"www.example.com", "edge.example.com", TypeCNAME, ""},
		{"edge.example.com", "", TypeA, "192.0.2.7"},
		{"edge.example.com", "", TypeAAAA, "2001:db8::7"},
	}
	if len(m.Answers) != len(want) || m.Skipped != 1 {
		t.Fatalf("%d answers, %d skipped; want %d, 1", len(m.Answers), m.Skipped, len(want))
	}
	for i, w := range want {
		a := m.Answers[i]
		var addr string
		if a.Addr.IsValid() {
			addr = a.Addr.String()
		}
		if string(a.Name) != w.name || string(a.Target) != w.target || a.Type != w.typ || addr != w.addr {
			t.Errorf("answer %d = %s %d %s %s; want %s %d %s %s", i, a.Name, a.Type, a.Target, addr,
				w.name, w.typ, w.target, w.addr)
		}
	}
	if m.Answers[0].TTL != 300 {
		t.Errorf("TTL = %d; want 300", m.Answers[0].TTL)
	}
}

func TestParseErrors(t *testing.T) {
	hdr := func(qd, an uint16) []byte { return []byte{0, 1, 0, 0, 0, byte(qd), 0, byte(an), 0, 0, 0, 0} }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	q := []byte{0, 1, 0, 1} // type, class
	long := make([]byte, 0, 300)
	for range 5 {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	long = append(long, 0)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"short header", []byte{1, 2, 3}, ErrShort},
		{"self pointer", cat(hdr(1, 0), []byte{0xc0, 12}, q), ErrName},
		{"forward pointer", cat(hdr(1, 0), []byte{0xc0, 14, 1, 'a', 0}, q), ErrName},
		{"pointer to own name", cat(hdr(2, 0), []byte{1, 'a', 0}, q, []byte{1, 'b', 0xc0, 19}, q), ErrName},
		{"label type 0x40", cat(hdr(1, 0), []byte{0x41, 'a', 0}, q), ErrName},
		{"name over 255", cat(hdr(1, 0), long, q), ErrName},
		{"label past end", cat(hdr(1, 0), []byte{9, 'a'}), ErrShort},
		{"question cut", cat(hdr(1, 0), []byte{1, 'a', 0, 0}), ErrShort},
		{"bad A length", cat(hdr(0, 1), []byte{0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3}), ErrRData},
		{"rdata past end", cat(hdr(0, 1), []byte{0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1}), ErrShort},
		{"cname past rdata", cat(hdr(0, 1), []byte{0, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 1, 'a', 0}), ErrShort},
		{"too many questions", hdr(200, 0), ErrTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			if err := Parse(tt.in, &m); !errors.Is(err, tt.want) {
				t.Errorf("Parse = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestParseMDNS(t *testing.T) {
	// mDNS query with the QU bit and a root-less service name.
	b := []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		5, '_', 'h', 't', 't', 'p', 4, '_', 't', 'c', 'p', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 12, 0x80, 1}
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	q := m.Questions[0]
	if string(q.Name) != "_http._tcp.local" || !q.UnicastResponse || q.Class != ClassIN || q.Type != 12 {
		t.Errorf("question = %+v; want _http._tcp.local PTR IN with QU", q)
	}
}

func TestSplitTCP(t *testing.T) {
	stream := append([]byte{0, byte(len(response))}, response...)
	stream = append(stream, 0, 50, 1, 2) // the next message, incomplete
	msg, rest, err := SplitTCP(stream)
	if err != nil || len(msg) != len(response) || len(rest) != 4 {
		t.Fatalf("SplitTCP = %d bytes, rest %d, %v; want %d, 4, nil", len(msg), len(rest), err, len(response))
	}
	if _, rest2, err := SplitTCP(rest); !errors.Is(err, ErrShort) || len(rest2) != 4 {
		t.Errorf("SplitTCP(partial) = rest %d, %v; want 4, ErrShort", len(rest2), err)
	}
	if _, _, err := SplitTCP([]byte{0}); !errors.Is(err, ErrShort) {
		t.Errorf("SplitTCP(1 byte) = %v; want ErrShort", err)
	}
}

func TestParseAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race and -short")
	}
	var m Message
	Parse(response, &m)
	if n := testing.AllocsPerRun(100, func() { Parse(response, &m) }); n != 0 {
		t.Errorf("Parse allocs = %v; want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(response)))
	for b.Loop() {
		if err := Parse(response, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDNS checks that no input panics and that every decoded name obeys the
// limits the parser enforces.
func FuzzDNS(f *testing.F) {
	f.Add(response)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		Parse(b, &m)
		for _, q := range m.Questions {
			if len(q.Name) > maxName {
				t.Fatalf("question name of %d bytes", len(q.Name))
			}
		}
		for _, a := range m.Answers {
			if len(a.Name) > maxName || len(a.Target) > maxName {
				t.Fatalf("answer name of %d/%d bytes", len(a.Name), len(a.Target))
			}
			if (a.Type == TypeA || a.Type == TypeAAAA) != a.Addr.IsValid() {
				t.Fatalf("type %d with addr %v", a.Type, a.Addr)
			}
		}
		if len(m.Questions) > int(m.QDCount) || len(m.Answers)+m.Skipped > int(m.ANCount) {
			t.Fatalf("more records than the header counts")
		}
		for msg, rest, err := SplitTCP(b); err == nil; msg, rest, err = SplitTCP(rest) {
			if len(msg) > len(b) {
				t.Fatal("SplitTCP message longer than input")
			}
		}
	})
}
