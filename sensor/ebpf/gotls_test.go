package ebpf

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// buildGoTLS builds the testdata/gotls program with extra go build flags.
func buildGoTLS(t *testing.T, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, "./testdata/gotls")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", flags, err, b)
	}
	return out
}

// TestGoTLSPlaintext runs a Go program that serves HTTPS and calls itself,
// built three ways: plain, position independent, and stripped of its symbol
// table. In each, the probes see both sides of every call in plaintext,
// with the connection's addresses.
func TestGoTLSPlaintext(t *testing.T) {
	requireRoot(t)
	if err := checkKernel(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("skipping: no go command to build the test program")
	}
	for _, v := range []struct {
		name     string
		flags    []string
		tcpCheck bool // the itab is in the symbol table
		single   bool // one uprobe per site, as on kernels before 6.6
	}{
		{"plain", nil, true, false},
		{"pie", []string{"-buildmode=pie"}, true, false},
		{"stripped", []string{"-ldflags=-s -w"}, false, false},
		{"single uprobes", nil, true, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			bin := buildGoTLS(t, "gotls-"+strings.ReplaceAll(v.name, " ", "-"), v.flags...)
			b, err := inspectGo(bin)
			if err != nil {
				t.Fatalf("inspectGo: %v", err)
			}
			if (b.itab != 0) != v.tcpCheck || len(b.readRets) == 0 {
				t.Fatalf("inspectGo: itab %#x, %d returns of Read; want the itab %v and some",
					b.itab, len(b.readRets), v.tcpCheck)
			}
			runGoTLS(t, bin, v.single)
		})
	}
}

func runGoTLS(t *testing.T, bin string, single bool) {
	token := fakeToken()
	const calls = 5
	prog := startTLSProgram(t, bin, strconv.Itoa(calls), token)
	srv := prog.addr
	// The process runs already: the start-up scan finds and probes it.
	// Other Go programs may be probed too (the go command running this
	// test is one).
	s, snapshot := startTLS(t, TLSConfig{ScanInterval: -1, SingleUprobes: single})
	if st, _ := s.Stats(); !prog.probedBy(s) || st.GoPrograms == 0 {
		t.Fatalf("%s not probed (%d Go programs: %v)", bin, st.GoPrograms, s.Libraries())
	}
	prog.run(t)

	pid := prog.pid
	// count counts substr in the program's plaintext streams of one
	// direction, each joined in order: a read may split a message (net/http
	// reads one byte ahead to learn of a closed connection).
	count := func(got []seenChunk, dir Dir, substr string, toServer bool) int {
		type stream struct {
			local, remote netip.AddrPort
		}
		joined := map[stream][]byte{}
		for _, c := range got {
			if c.pid == pid && c.dir == dir && (!toServer || c.remote == srv) {
				k := stream{c.local, c.remote}
				joined[k] = append(joined[k], c.data...)
			}
		}
		n := 0
		for _, data := range joined {
			n += bytes.Count(data, []byte(substr))
		}
		return n
	}
	const req = "POST /api/items/"
	got := waitFor(snapshot, func(got []seenChunk) bool {
		return count(got, Write, req, true) == calls && count(got, Read, req, false) == calls &&
			count(got, Read, "HTTP/1.1 200", true) == calls
	})
	for _, w := range []struct {
		name     string
		dir      Dir
		substr   string
		toServer bool
	}{
		{"client writes to the server", Write, req, true},
		{"server reads", Read, req, false},
		{"client reads the server's answers", Read, "HTTP/1.1 200", true},
		{"server writes", Write, `{"ok":true`, false},
	} {
		if n := count(got, w.dir, w.substr, w.toServer); n != calls {
			t.Errorf("%s: %d of %d calls seen (%d chunks in all)", w.name, n, calls, len(got))
		}
	}
	// The token travelled in the requests, between the program's own
	// loopback ends, under the program's name (the kernel keeps 15 bytes).
	comm := filepath.Base(bin)
	comm = comm[:min(len(comm), 15)]
	var withToken int
	for _, c := range got {
		if c.pid == pid && bytes.Contains(c.data, []byte(token)) {
			withToken++
			if c.local.Addr() != srv.Addr() || c.comm != comm {
				t.Errorf("chunk with the token: local %v comm %q; want %v and %q", c.local,
					c.comm, srv.Addr(), comm)
			}
		}
	}
	if withToken == 0 {
		t.Error("no chunk carried the request's Authorization header")
	}
}

// TestRetOffsets: on amd64 a return is found by decoding, not by its byte,
// which also appears inside other instructions.
func TestRetOffsets(t *testing.T) {
	code := []byte{
		0x48, 0xc7, 0xc0, 0xc3, 0x00, 0x00, 0x00, // mov rax, 0xc3
		0xc3, // ret
		0x90, // nop
		0xc3, // ret
	}
	got, err := retOffsets(elf.EM_X86_64, code)
	if err != nil || fmt.Sprint(got) != "[7 9]" {
		t.Errorf("retOffsets(amd64) = %v, %v; want [7 9]", got, err)
	}
	arm := []byte{0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6} // nop; ret
	if got, err := retOffsets(elf.EM_AARCH64, arm); err != nil || fmt.Sprint(got) != "[4]" {
		t.Errorf("retOffsets(arm64) = %v, %v; want [4]", got, err)
	}
	if _, err := retOffsets(elf.EM_X86_64, []byte{0x0f, 0xff}); err == nil {
		t.Error("retOffsets on code that does not decode: err = nil")
	}
}

// FuzzInspectGo feeds inspectGo executables it did not build: the start of
// a real Go binary (its headers), mangled. Whatever it accepts must point
// inside the file.
func FuzzInspectGo(f *testing.F) {
	f.Add([]byte("\x7fELF"))
	if bin, err := os.ReadFile("/proc/self/exe"); err == nil {
		f.Add(bin[:min(len(bin), 4096)])
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "bin")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := inspectGo(p)
		if err != nil {
			return
		}
		size := uint64(len(data))
		if b.write >= size || b.read >= size || len(b.readRets) == 0 {
			t.Fatalf("accepted with Write at %#x, Read at %#x, %d returns, in %d bytes",
				b.write, b.read, len(b.readRets), size)
		}
		for _, r := range b.readRets {
			if r < b.read || r >= size {
				t.Fatalf("a return of Read at %#x, outside [%#x, %#x)", r, b.read, size)
			}
		}
	})
}

// FuzzRetOffsets: the returns found are inside the code, in order, and each
// is an instruction boundary that decodes as a return.
func FuzzRetOffsets(f *testing.F) {
	f.Add([]byte{0x48, 0xc7, 0xc0, 0xc3, 0x00, 0x00, 0x00, 0xc3}, true)
	f.Add([]byte{0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6}, false)
	f.Fuzz(func(t *testing.T, code []byte, amd64 bool) {
		m := elf.EM_AARCH64
		if amd64 {
			m = elf.EM_X86_64
		}
		rets, err := retOffsets(m, code)
		if err != nil {
			return
		}
		last := -1
		for _, r := range rets {
			if int(r) <= last || int(r) >= len(code) {
				t.Fatalf("returns %v in %d bytes", rets, len(code))
			}
			last = int(r)
			if amd64 {
				if inst, err := x86asm.Decode(code[r:], 64); err != nil || inst.Op != x86asm.RET {
					t.Fatalf("return at %d decodes as %v, %v", r, inst, err)
				}
			}
		}
	})
}

// tlsProgram is a test program of testdata that serves HTTPS on loopback,
// prints its address, and makes its calls once told to on stdin.
type tlsProgram struct {
	path  string
	pid   uint32
	addr  netip.AddrPort
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// startTLSProgram starts name with args and reads its address; the
// program is stopped at the end of t.
func startTLSProgram(t *testing.T, name string, args ...string) *tlsProgram {
	t.Helper()
	cmd := exec.Command(name, args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	p := &tlsProgram{path: name, pid: uint32(cmd.Process.Pid), stdin: stdin,
		lines: bufio.NewScanner(stdout)}
	if !p.lines.Scan() {
		t.Fatalf("%s printed no address", name)
	}
	p.addr = netip.MustParseAddrPort(p.lines.Text())
	return p
}

// probedBy reports whether s probed the program's executable.
func (p *tlsProgram) probedBy(s *TLSSource) bool {
	for _, lib := range s.Libraries() {
		if strings.HasSuffix(lib, p.path) {
			return true
		}
	}
	return false
}

// run has the program make its calls and waits until they are done.
func (p *tlsProgram) run(t *testing.T) {
	t.Helper()
	p.stdin.Write([]byte("go\n"))
	if !p.lines.Scan() || p.lines.Text() != "done" {
		t.Fatalf("%s did not finish its calls: %q", p.path, p.lines.Text())
	}
}

// fakeToken returns a random bearer token for the test programs; tests
// never print it.
func fakeToken() string {
	var b [16]byte
	rand.Read(b[:])
	return "tok_" + hex.EncodeToString(b[:])
}
