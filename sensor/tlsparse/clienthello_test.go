package tlsparse

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// helloSpec describes a ClientHello to build. Extensions appear in exts
// order; the ones the parser decodes get bodies from the other fields.
type helloSpec struct {
	legacy   uint16
	ciphers  []uint16
	exts     []uint16
	sni      string
	alpn     []string
	sigs     []uint16
	groups   []uint16
	versions []uint16
}

func u16s(l []uint16) []byte {
	var b []byte
	for _, v := range l {
		b = append(b, byte(v>>8), byte(v))
	}
	return b
}

func vec16(b []byte) []byte { return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...) }
func vec8(b []byte) []byte  { return append([]byte{byte(len(b))}, b...) }

// buildClientHello returns the handshake message (with its 4-byte header).
func buildClientHello(s helloSpec) []byte {
	if s.legacy == 0 {
		s.legacy = VersionTLS12
	}
	body := []byte{byte(s.legacy >> 8), byte(s.legacy)}
	body = append(body, bytes.Repeat([]byte{0x42}, 32)...)
	body = append(body, vec8(bytes.Repeat([]byte{7}, 32))...)
	body = append(body, vec16(u16s(s.ciphers))...)
	body = append(body, 1, 0)
	var exts []byte
	for _, e := range s.exts {
		var d []byte
		switch e {
		case ExtServerName:
			d = vec16(append([]byte{0}, vec16([]byte(s.sni))...))
		case ExtALPN:
			var l []byte
			for _, p := range s.alpn {
				l = append(l, vec8([]byte(p))...)
			}
			d = vec16(l)
		case ExtSignatureAlgorithms:
			d = vec16(u16s(s.sigs))
		case ExtSupportedGroups:
			d = vec16(u16s(s.groups))
		case ExtSupportedVersions:
			d = vec8(u16s(s.versions))
		}
		exts = append(exts, byte(e>>8), byte(e))
		exts = append(exts, vec16(d)...)
	}
	body = append(body, vec16(exts)...)
	return append([]byte{typeClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// records frames msg as TLS records, one per fragment size (the last takes
// the rest).
func records(msg []byte, sizes ...int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := len(msg)
		if len(sizes) > 0 {
			n = min(sizes[0], n)
			sizes = sizes[1:]
		}
		out = append(out, recordHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// specHello is the example of the FoxIO JA4 specification (technical_details/
// JA4.md): its cipher, extension and signature algorithm lists in wire
// order, with GREASE values added that JA4 must ignore.
var specHello = helloSpec{
	ciphers: []uint16{0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
		0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
	exts: []uint16{0x0a0a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
		0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0xfafa},
	sni:      "Example.COM",
	alpn:     []string{"h2", "http/1.1"},
	sigs:     []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
	groups:   []uint16{0x6a6a, 0x001d, 0x0017, 0x0018},
	versions: []uint16{0x7a7a, 0x0304, 0x0303},
}

func TestJA4(t *testing.T) {
	tests := []struct {
		name string
		spec helloSpec
		tr   byte
		want string
	}{
		{
			name: "FoxIO specification example",
			spec: specHello,
			tr:   TransportTCP,
			want: "t13d1516h2_8daaf6152771_e5627efa2ab1",
		},
		{
			// A Chrome 143 hello published with its JA4_ro by browserleaks
			// (ECH and post-quantum key share extensions included).
			name: "chrome 143 with ech",
			spec: helloSpec{
				ciphers: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
					0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
				exts: []uint16{0x002d, 0x0033, 0x0010, 0xfe0d, 0x0017, 0x44cd, 0x0000, 0x000b,
					0x000a, 0x002b, 0xff01, 0x0023, 0x0012, 0x0005, 0x000d, 0x001b},
				sni:      "tls-outer.browserleaks.com",
				alpn:     []string{"h2", "http/1.1"},
				sigs:     []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
				versions: []uint16{0x0304, 0x0303},
			},
			tr:   TransportTCP,
			want: "t13d1516h2_8daaf6152771_d8a2da3f94cd",
		},
		{
			name: "no extensions at all",
			spec: helloSpec{legacy: VersionTLS10, ciphers: []uint16{0x002f}},
			tr:   TransportTCP,
			want: "t10i010000_" + hash12("002f") + "_000000000000",
		},
		{
			name: "no signature algorithms, quic",
			spec: helloSpec{
				ciphers:  []uint16{0x1301},
				exts:     []uint16{0x0000, 0x0010, 0x002b, 0x000a},
				sni:      "a.b",
				alpn:     []string{"h3"},
				versions: []uint16{0x0304},
				groups:   []uint16{0x001d},
			},
			tr:   TransportQUIC,
			want: "q13d0104h3_" + hash12("1301") + "_" + hash12("000a,002b"),
		},
		{
			name: "no ciphers",
			spec: helloSpec{exts: []uint16{0x000d}, sigs: []uint16{0x0403}},
			tr:   TransportTCP,
			want: "t12i000100_000000000000_" + hash12("000d_0403"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch ClientHello
			if err := ParseClientHello(records(buildClientHello(tt.spec)), &ch); err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			if got := JA4(&ch, tt.tr); got != tt.want {
				t.Errorf("JA4 = %q; want %q\nraw %s", got, tt.want, AppendJA4Raw(nil, &ch, tt.tr))
			}
		})
	}
}

func hash12(s string) string { return string(appendHash12(nil, []byte(s))) }

func TestJA4ALPN(t *testing.T) {
	// The cases of the JA4 specification's ALPN section.
	tests := []struct {
		alpn []byte
		want string
	}{
		{nil, "00"},
		{[]byte{}, "00"},
		{[]byte("h2"), "h2"},
		{[]byte("http/1.1"), "h1"},
		{[]byte("x"), "xx"},
		{[]byte{0xab}, "ab"},
		{[]byte{0xab, 0xcd}, "ad"},
		{[]byte{0x30, 0xab}, "3b"},
		{[]byte{0x30, 0x31, 0xab, 0xcd}, "3d"},
		{[]byte{0x30, 0xab, 0xcd, 0x31}, "01"},
	}
	for _, tt := range tests {
		var l [][]byte
		if tt.alpn != nil {
			l = [][]byte{tt.alpn}
		}
		if got := string(appendALPN(nil, l)); got != tt.want {
			t.Errorf("appendALPN(%x) = %q; want %q", tt.alpn, got, tt.want)
		}
	}
}

func TestParseClientHelloFields(t *testing.T) {
	msg := buildClientHello(specHello)
	var ch ClientHello
	if err := ParseClientHello(records(msg), &ch); err != nil {
		t.Fatal(err)
	}
	if got, want := string(ch.ServerName), "example.com"; got != want {
		t.Errorf("ServerName = %q; want %q", got, want)
	}
	if len(ch.ALPN) != 2 || string(ch.ALPN[0]) != "h2" || string(ch.ALPN[1]) != "http/1.1" {
		t.Errorf("ALPN = %q; want [h2 http/1.1]", ch.ALPN)
	}
	if !slices.Equal(ch.CipherSuites, specHello.ciphers) {
		t.Errorf("CipherSuites = %04x; want %04x", ch.CipherSuites, specHello.ciphers)
	}
	if !slices.Equal(ch.Extensions, specHello.exts) {
		t.Errorf("Extensions = %04x; want %04x", ch.Extensions, specHello.exts)
	}
	if !slices.Equal(ch.SignatureAlgorithms, specHello.sigs) {
		t.Errorf("SignatureAlgorithms = %04x; want %04x", ch.SignatureAlgorithms, specHello.sigs)
	}
	if !slices.Equal(ch.SupportedGroups, specHello.groups) {
		t.Errorf("SupportedGroups = %04x; want %04x", ch.SupportedGroups, specHello.groups)
	}
	if !slices.Equal(ch.SupportedVersions, specHello.versions) {
		t.Errorf("SupportedVersions = %04x; want %04x", ch.SupportedVersions, specHello.versions)
	}
	if !ch.GREASE || !ch.HasServerName || ch.Version() != VersionTLS13 || ch.Len != len(msg) {
		t.Errorf("GREASE %v HasServerName %v Version %04x Len %d; want true true 0304 %d",
			ch.GREASE, ch.HasServerName, ch.Version(), ch.Len, len(msg))
	}
	if ch.RecordVersion != VersionTLS10 || ch.LegacyVersion != VersionTLS12 {
		t.Errorf("RecordVersion %04x LegacyVersion %04x; want 0301 0303", ch.RecordVersion, ch.LegacyVersion)
	}

	// The same bytes without record framing, as QUIC carries them.
	var q ClientHello
	if err := ParseClientHelloMessage(msg, &q); err != nil {
		t.Fatal(err)
	}
	if JA4(&q, 't') != JA4(&ch, 't') || string(q.ServerName) != "example.com" {
		t.Errorf("ParseClientHelloMessage gave %q %s; want %q %s",
			q.ServerName, JA4(&q, 't'), ch.ServerName, JA4(&ch, 't'))
	}
}

// TestParseClientHelloSplit feeds a hello spread over records in every way
// and every prefix of it: prefixes must report ErrShort with a Need that
// neither overshoots the full length nor fails to move forward.
func TestParseClientHelloSplit(t *testing.T) {
	msg := buildClientHello(specHello)
	tests := []struct {
		name  string
		sizes []int
	}{
		{"one record", nil},
		{"two records", []int{100}},
		{"header split", []int{2, 1, 50}},
		{"one byte records", slices.Repeat([]int{1}, len(msg))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := records(msg, tt.sizes...)
			// Trailing bytes of the next flight must not disturb the parse.
			stream = append(stream, 0x14, 3, 3, 0, 1, 1)
			full := len(stream) - 6
			var ch ClientHello
			for n := 0; n < full; n++ {
				err := ParseClientHello(stream[:n], &ch)
				if !errors.Is(err, ErrShort) {
					t.Fatalf("ParseClientHello(%d of %d bytes) = %v; want ErrShort", n, full, err)
				}
				if ch.Need <= n || ch.Need > full {
					t.Fatalf("ParseClientHello(%d of %d bytes): Need = %d; want in (%d, %d]",
						n, full, ch.Need, n, full)
				}
			}
			if err := ParseClientHello(stream, &ch); err != nil {
				t.Fatalf("ParseClientHello(all) = %v", err)
			}
			if got := JA4(&ch, 't'); got != "t13d1516h2_8daaf6152771_e5627efa2ab1" {
				t.Errorf("JA4 = %s after reassembly", got)
			}
		})
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	good := buildClientHello(specHello)
	badSNI := slices.Clone(good)
	// Corrupt the extensions length (it follows compression methods).
	extLenAt := handshakeHeaderLen + 2 + 32 + 33 + 2 + 2*len(specHello.ciphers) + 2
	badSNI[extLenAt] = 0xff
	huge := []byte{recordHandshake, 3, 1, 0, 4, typeClientHello, 0x01, 0, 0}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"http", []byte("GET / HTTP/1.1\r\n"), ErrNotTLS},
		{"alert record", []byte{21, 3, 3, 0, 2, 2, 40}, ErrNotTLS},
		{"zero-length record", []byte{22, 3, 1, 0, 0}, ErrNotTLS},
		{"server hello", records(append([]byte{2}, good[1:]...)), ErrNotClientHello},
		{"too large", huge, ErrTooLarge},
		{"bad extensions length", records(badSNI), ErrMalformed},
		{"truncated body", records(append(append([]byte{1, 0, 0, 10}, 3, 3), make([]byte, 8)...)), ErrMalformed},
		{"empty", nil, ErrShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ch ClientHello
			if err := ParseClientHello(tt.in, &ch); !errors.Is(err, tt.want) {
				t.Errorf("ParseClientHello = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestLooksLikeTLS(t *testing.T) {
	tests := []struct {
		in   []byte
		want bool
	}{
		{records(buildClientHello(specHello)), true},
		{[]byte{22, 3, 1}, true},
		{[]byte{22, 3, 1, 0, 0}, false},
		{[]byte{22, 3, 1, 0, 5, 11}, false},
		{[]byte("GET /"), false},
		{[]byte{23, 3, 3, 0, 5}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := LooksLikeTLS(tt.in); got != tt.want {
			t.Errorf("LooksLikeTLS(% x) = %v; want %v", tt.in[:min(len(tt.in), 8)], got, tt.want)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are only meaningful without -race and -short")
	}
	stream := records(buildClientHello(specHello), 100)
	var ch ClientHello
	var buf [64]byte
	ParseClientHello(stream, &ch) // grow the reused slices once
	n := testing.AllocsPerRun(100, func() {
		if err := ParseClientHello(stream, &ch); err != nil {
			t.Fatal(err)
		}
		AppendJA4(buf[:0], &ch, 't')
	})
	if n != 0 {
		t.Errorf("ParseClientHello+AppendJA4 allocs = %v; want 0", n)
	}
}

func BenchmarkClientHelloJA4(b *testing.B) {
	stream := records(buildClientHello(specHello))
	var ch ClientHello
	var buf [64]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		if err := ParseClientHello(stream, &ch); err != nil {
			b.Fatal(err)
		}
		AppendJA4(buf[:0], &ch, 't')
	}
}

func BenchmarkClientHello(b *testing.B) {
	stream := records(buildClientHello(specHello))
	var ch ClientHello
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		if err := ParseClientHello(stream, &ch); err != nil {
			b.Fatal(err)
		}
	}
}
