package httpparse

import (
	"strings"
	"testing"
)

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"plain", "1a\r", 26, true},
		{"bare LF line", "ff", 255, true},
		{"upper hex", "FF\r", 255, true},
		{"extension", "5;name=value\r", 5, true},
		{"BWS before extension", "5 ;x\r", 5, true},
		{"zero", "0\r", 0, true},
		{"empty", "\r", 0, false},
		{"junk after size", "5x\r", 0, false},
		{"not hex", "g\r", 0, false},
		{"overflow", "fffffffffffffffff\r", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseChunkSize([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseChunkSize(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseContentLength(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"42", 42, true},
		{"0", 0, true},
		{"42, 42", 42, true},
		{"42,43", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"4 2", 0, false},
		{"99999999999999999999", 0, false},
		{"999999999999999999", 999999999999999999, true}, // 18 digits: the fast path's limit
		{"9999999999999999999", 0, false},                // 19 digits, past 2^62
		{"0042", 42, true},
		{" 42 ", 42, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseContentLength([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseContentLength(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTokenIs(t *testing.T) {
	tests := []struct {
		b, s string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"content-length", "content-length", true},
		{"Content_Length", "content-length", false},
		{"Content-Lengt", "content-length", false},
		{"Host", "host", true},
		{"Hos~", "host", false},
		{"H^st", "host", false}, // '^' | 0x20 is '~', not a letter
	}
	for _, tt := range tests {
		t.Run(tt.b, func(t *testing.T) {
			if got := tokenIs([]byte(tt.b), tt.s); got != tt.want {
				t.Errorf("tokenIs(%q, %q) = %v; want %v", tt.b, tt.s, got, tt.want)
			}
		})
	}
}

func TestFindStart(t *testing.T) {
	tests := []struct {
		name              string
		in                string
		wantReq, wantResp bool
		want              int
	}{
		{"request at zero", "GET / HTTP/1.1\r\n", true, false, 0},
		{"request after body bytes", `"}]}POST /v1/x HTTP/1.1` + "\r\n", true, true, 4},
		{"longest method wins", "xUNLOCK /f HTTP/1.1\r\n", true, false, 1},
		{"unknown method", "FROB / HTTP/1.1\r\n", true, false, -1},
		{"version not at line end", "GET / HTTP/1.10\r\n", true, false, -1},
		{"response", "garbageHTTP/1.1 404 Not Found\r\n", false, true, 7},
		{"response not wanted", "HTTP/1.1 200 OK\r\n", true, false, -1},
		{"status below 100", "HTTP/1.1 099 x\r\n", false, true, -1},
		{"version incomplete", "GET / HTTP/1", true, true, -1},
		{"request line end not seen yet", "GET / HTTP/1.1", true, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findStart([]byte(tt.in), tt.wantReq, tt.wantResp); got != tt.want {
				t.Errorf("findStart(%q, %v, %v) = %d; want %d",
					tt.in, tt.wantReq, tt.wantResp, got, tt.want)
			}
		})
	}
}

func TestListTokens(t *testing.T) {
	tests := []struct {
		in, last string
		chunked  bool
	}{
		{"chunked", "chunked", true},
		{"gzip, chunked", "chunked", true},
		{"chunked, ", "chunked", true},
		{",.chunked,", ".chunked", false},
		{"chunked, gzip", "gzip", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := lastToken([]byte(tt.in))
			if string(got) != tt.last {
				t.Errorf("lastToken(%q) = %q; want %q", tt.in, got, tt.last)
			}
			if c := equalFold(got, "chunked"); c != tt.chunked {
				t.Errorf("lastToken(%q) is chunked: got %v; want %v", tt.in, c, tt.chunked)
			}
		})
	}
	if !hasToken([]byte("keep-alive, Upgrade"), "upgrade") {
		t.Error(`hasToken("keep-alive, Upgrade", "upgrade") = false; want true`)
	}
}

// TestLimits checks that each Config limit is enforced and counted.
func TestLimits(t *testing.T) {
	many := "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: 1\r\n", 5) + "\r\n"
	big := "GET /" + strings.Repeat("a", 300) + " HTTP/1.1\r\nHost: h\r\n\r\n"
	body := "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"
	pipelined := strings.Repeat("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", 4)
	tests := []struct {
		name  string
		cfg   *Config
		steps []step
		want  []string // substrings of the transcript
	}{
		{"max headers", &Config{MaxHeaders: 4}, []step{{dir: 0, data: []byte(many)}},
			[]string{"too_many_headers=1", "requests=0"}},
		{"max header bytes", &Config{MaxHeaderBytes: 128}, []step{{dir: 0, data: []byte(big)}},
			[]string{"header_too_large=1", "requests=0"}},
		{"body prefix", &Config{MaxBodyPrefix: 4}, []step{{dir: 1, data: []byte(body)}},
			[]string{`bytes=10 flags=truncated`, `body[4] "0123"`}},
		{"pending queue", &Config{MaxPending: 2}, []step{{dir: 0, data: []byte(pipelined)}},
			[]string{"pending_overflow=2", "unanswered=4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.cfg, tt.steps, nil)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("transcript lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
