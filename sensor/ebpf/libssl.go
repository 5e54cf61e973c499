package ebpf

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// libKey identifies a library file; uprobes attach to the inode, so one
// attachment covers every process (host or container) mapping that file.
type libKey struct{ dev, ino uint64 }

// probe is one uprobe or uretprobe to place on a TLS library.
type probe struct {
	symbol string
	ret    bool
	prog   *ebpf.Program
}

func (o *tlsObjects) probes() []probe {
	return []probe{
		{"SSL_write", false, o.SslWrite}, {"SSL_write", true, o.SslWriteRet},
		{"SSL_read", false, o.SslRead}, {"SSL_read", true, o.SslReadRet},
		// The _ex variants exist from OpenSSL 1.1.1 on.
		{"SSL_write_ex", false, o.SslWriteEx}, {"SSL_write_ex", true, o.SslWriteExRet},
		{"SSL_read_ex", false, o.SslReadEx}, {"SSL_read_ex", true, o.SslReadExRet},
	}
}

// isTLSLibrary reports whether a mapped file looks like OpenSSL's libssl
// (libssl.so.3, libssl.so.1.1, libssl.so).
func isTLSLibrary(path string) bool {
	base := filepath.Base(path)
	return strings.HasPrefix(base, "libssl.so")
}

// mappedLibraries returns the TLS libraries pid maps, as paths reachable from
// this process: /proc/PID/root/<path>, which resolves inside the process's
// mount namespace (a container's image).
func mappedLibraries(pid int) ([]string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte("libssl.so")) {
			continue
		}
		// The path is the sixth field and may contain spaces.
		i := bytes.IndexByte(line, '/')
		if i < 0 {
			continue
		}
		p := string(line[i:])
		if strings.HasSuffix(p, " (deleted)") || !isTLSLibrary(p) {
			continue
		}
		full := "/proc/" + strconv.Itoa(pid) + "/root" + p
		dup := false
		for _, o := range out {
			dup = dup || o == full
		}
		if !dup {
			out = append(out, full)
		}
	}
	return out, sc.Err()
}

func fileKey(path string) (libKey, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return libKey{}, err
	}
	return libKey{dev: uint64(st.Dev), ino: st.Ino}, nil
}

// attachLibrary places every probe on the library at path. A symbol the
// library lacks (an old OpenSSL without _ex) is skipped; the library counts as
// attached when SSL_read and SSL_write are both probed.
func attachLibrary(path string, probes []probe) ([]link.Link, error) {
	ex, err := link.OpenExecutable(path)
	if err != nil {
		return nil, fmt.Errorf("ebpf: open %s: %w", path, err)
	}
	var links []link.Link
	var core int
	for _, p := range probes {
		var l link.Link
		if p.ret {
			l, err = ex.Uretprobe(p.symbol, p.prog, nil)
		} else {
			l, err = ex.Uprobe(p.symbol, p.prog, nil)
		}
		if errors.Is(err, link.ErrNoSymbol) {
			continue
		}
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			return nil, fmt.Errorf("ebpf: attach %s to %s: %w", p.symbol, path, err)
		}
		links = append(links, l)
		if p.symbol == "SSL_read" || p.symbol == "SSL_write" {
			core++
		}
	}
	if core < 4 {
		for _, l := range links {
			l.Close()
		}
		return nil, fmt.Errorf("ebpf: %s has no SSL_read/SSL_write: %w", path, link.ErrNoSymbol)
	}
	return links, nil
}

// definesSSL reports whether the executable at path defines SSL_read and
// SSL_write itself: OpenSSL (or BoringSSL) linked in, rather than imported
// from libssl, whose mapping is probed on its own.
func definesSSL(path string) (ok bool) {
	// A crafted executable must not take the sensor down with it.
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	found := 0
	for _, table := range []func() ([]elf.Symbol, error){f.DynamicSymbols, f.Symbols} {
		syms, _ := table()
		for _, s := range syms {
			if (s.Name == "SSL_read" || s.Name == "SSL_write") && s.Value != 0 &&
				s.Section != elf.SHN_UNDEF && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
				found++
			}
		}
		if found >= 2 {
			return true
		}
		found = 0
	}
	return false
}
