package ebpf

import (
	"bufio"
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/arch/x86/x86asm"
)

// Go programs do not use libssl: crypto/tls is compiled into each binary,
// so each binary is probed on its own (bpf/tls.c, "Go crypto/tls"). These
// are the functions and the type descriptor the probes need.
const (
	goTLSWrite    = "crypto/tls.(*Conn).Write"
	goTLSRead     = "crypto/tls.(*Conn).Read"
	goTCPConnItab = "go:itab.*net.TCPConn,net.Conn"
)

// errNotGo marks an executable that is not a Go program; errNotGoTLS one
// that is, but without crypto/tls or for another architecture. Neither has
// anything for the Go probes; only the first may carry OpenSSL.
var (
	errNotGo    = errors.New("not a Go program")
	errNotGoTLS = errors.New("not a Go program with crypto/tls")
)

// goBinary is what probing one Go executable takes.
type goBinary struct {
	write, read uint64   // file offsets of Write and Read
	readRets    []uint64 // file offsets of Read's RET instructions
	// itab is the link-time address of the itab of *net.TCPConn as a
	// net.Conn, which lets the probe tell a TCP connection from any other;
	// 0 when the symbol table is stripped.
	itab uint64
	// pie is set for a position-independent executable, whose itab moves
	// by the load bias of each process; firstLoad is the page-aligned
	// address of its first loadable segment, which the bias is taken from.
	pie       bool
	firstLoad uint64
}

// maxReadCode bounds the code of Read that inspectGo reads and decodes.
const maxReadCode = 1 << 20

// inspectGo reads what the probes need from the executable at path. A
// stripped binary still has its function table (.gopclntab); only the itab
// check is lost then.
func inspectGo(path string) (b *goBinary, err error) {
	// debug/elf and debug/gosym trust a file more than a sensor can: any
	// user may run a crafted executable, which must cost its own probes and
	// never the sensor.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("malformed executable %s: %v", path, r)
		}
	}()
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Section(".gopclntab") == nil && f.Section(".go.buildinfo") == nil {
		return nil, errNotGo
	}
	if !sameArch(f.Machine) {
		return nil, errNotGoTLS
	}
	b = &goBinary{pie: f.Type == elf.ET_DYN}
	type span struct{ addr, size uint64 }
	funcs := map[string]span{}
	if syms, err := f.Symbols(); err == nil {
		for _, s := range syms {
			switch s.Name {
			case goTLSWrite, goTLSRead:
				funcs[s.Name] = span{s.Value, s.Size}
			case goTCPConnItab:
				b.itab = s.Value
			}
		}
	}
	if len(funcs) < 2 {
		if err := pclnFuncs(f, func(name string, entry, end uint64) {
			funcs[name] = span{entry, end - entry}
		}); err != nil {
			return nil, err
		}
	}
	w, okW := funcs[goTLSWrite]
	r, okR := funcs[goTLSRead]
	if !okW || !okR || r.size == 0 {
		return nil, errNotGoTLS
	}
	if r.size > maxReadCode {
		// Read is a couple of KiB; a size like this is a crafted table.
		return nil, fmt.Errorf("%s claims %d bytes of code", goTLSRead, r.size)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			b.firstLoad = p.Vaddr &^ (uint64(os.Getpagesize()) - 1)
			break
		}
	}
	if b.write, err = fileOffset(f, w.addr); err != nil {
		return nil, err
	}
	if b.read, err = fileOffset(f, r.addr); err != nil {
		return nil, err
	}
	code := make([]byte, r.size)
	if err := readAt(f, r.addr, code); err != nil {
		return nil, fmt.Errorf("read %s: %w", goTLSRead, err)
	}
	rets, err := retOffsets(f.Machine, code)
	if err != nil {
		return nil, fmt.Errorf("disassemble %s: %w", goTLSRead, err)
	}
	for _, off := range rets {
		b.readRets = append(b.readRets, b.read+off)
	}
	return b, nil
}

// sameArch reports whether an ELF machine is this process's architecture:
// the probes read Go's registers as this build of them lays them out.
func sameArch(m elf.Machine) bool {
	switch runtime.GOARCH {
	case "amd64":
		return m == elf.EM_X86_64
	case "arm64":
		return m == elf.EM_AARCH64
	}
	return false
}

// pclnFuncs calls fn with the bounds of Write and Read from the binary's
// pc-line table, which stripping leaves in place.
func pclnFuncs(f *elf.File, fn func(name string, entry, end uint64)) error {
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return errNotGoTLS
	}
	data, err := pcln.Data()
	if err != nil {
		return err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return fmt.Errorf("read .gopclntab: %w", err)
	}
	for _, name := range []string{goTLSWrite, goTLSRead} {
		if f := tab.LookupFunc(name); f != nil {
			fn(name, f.Entry, f.End)
		}
	}
	return nil
}

// fileOffset turns a virtual address in an executable segment into the file
// offset that uprobes are placed by.
func fileOffset(f *elf.File, addr uint64) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Vaddr <= addr &&
			addr < p.Vaddr+p.Filesz {
			return addr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("address %#x is in no executable segment", addr)
}

func readAt(f *elf.File, addr uint64, buf []byte) error {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr <= addr && addr+uint64(len(buf)) <= p.Vaddr+p.Filesz {
			_, err := p.ReadAt(buf, int64(addr-p.Vaddr))
			return err
		}
	}
	return fmt.Errorf("address %#x is in no loadable segment", addr)
}

// arm64Ret is RET (X30), the only return Go emits on arm64.
const arm64Ret = 0xd65f03c0

// retOffsets returns the offsets of the return instructions in a function's
// code. On amd64 the code is decoded instruction by instruction from the
// entry: a 0xC3 byte inside another instruction is not a return, and a
// probe placed there would corrupt the program. Code that does not decode
// is refused whole for the same reason.
func retOffsets(m elf.Machine, code []byte) ([]uint64, error) {
	var out []uint64
	switch m {
	case elf.EM_X86_64:
		for i := 0; i < len(code); {
			inst, err := x86asm.Decode(code[i:], 64)
			if err != nil {
				return nil, fmt.Errorf("at +%#x: %w", i, err)
			}
			if inst.Op == x86asm.RET {
				out = append(out, uint64(i))
			}
			i += inst.Len
		}
	case elf.EM_AARCH64:
		for i := 0; i+4 <= len(code); i += 4 {
			if binary.LittleEndian.Uint32(code[i:]) == arm64Ret {
				out = append(out, uint64(i))
			}
		}
	default:
		return nil, errNotGoTLS
	}
	if len(out) == 0 {
		return nil, errors.New("no return instruction")
	}
	return out, nil
}

// attachGo places the Go probes on the binary at path: Write's and Read's
// entries, and every return of Read. With multi (a kernel with uprobe_multi
// links) they go into one link, which the kernel removes with one grace
// period instead of one per site: a sensor stopping on a host of many Go
// programs would otherwise wait seconds.
func attachGo(path string, b *goBinary, o *tlsObjects, multi bool) ([]link.Link, error) {
	ex, err := link.OpenExecutable(path)
	if err != nil {
		return nil, fmt.Errorf("ebpf: open %s: %w", path, err)
	}
	type site struct {
		off    uint64
		prog   *ebpf.Program
		cookie tlsGoSite
		what   string
	}
	sites := []site{{b.write, o.GoTlsWrite, tlsGoSiteGO_SITE_WRITE, goTLSWrite},
		{b.read, o.GoTlsRead, tlsGoSiteGO_SITE_READ, goTLSRead}}
	for _, off := range b.readRets {
		sites = append(sites,
			site{off, o.GoTlsReadRet, tlsGoSiteGO_SITE_READ_RET, "a return of " + goTLSRead})
	}
	if multi {
		opts := &link.UprobeMultiOptions{}
		for _, s := range sites {
			// Addresses are file offsets, as for single uprobes.
			opts.Addresses = append(opts.Addresses, s.off)
			opts.Cookies = append(opts.Cookies, uint64(s.cookie))
		}
		l, err := ex.UprobeMulti(nil, o.GoTlsMulti, opts)
		if err != nil {
			return nil, fmt.Errorf("ebpf: attach %s and %s of %s: %w", goTLSWrite, goTLSRead,
				path, err)
		}
		return []link.Link{l}, nil
	}
	var links []link.Link
	for _, s := range sites {
		// Address is the file offset here: it bypasses the symbol lookup,
		// which a stripped binary could not answer.
		l, err := ex.Uprobe("", s.prog, &link.UprobeOptions{Address: s.off})
		if err != nil {
			closeAll(links)
			return nil, fmt.Errorf("ebpf: attach %s at %#x of %s: %w", s.what, s.off, path, err)
		}
		links = append(links, l)
	}
	return links, nil
}

// executable returns the path, reachable from this process, of pid's
// executable (inside its mount namespace, as for libraries), and its path
// as the process sees it, which its memory map names.
func executable(pid int) (full, own string, err error) {
	p := "/proc/" + strconv.Itoa(pid)
	own, err = os.Readlink(p + "/exe")
	if err != nil {
		return "", "", err
	}
	if strings.HasSuffix(own, " (deleted)") {
		return "", "", errors.New("executable deleted")
	}
	return p + "/root" + own, own, nil
}

// itabAt returns the run-time address of b's itab in process pid, whose
// executable the process calls own; 0 when it is not known.
func (b *goBinary) itabAt(pid int, own string) uint64 {
	if b.itab == 0 || !b.pie {
		return b.itab
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<16)
	for sc.Scan() {
		// start-end perms offset dev inode path; the mapping at offset 0
		// is where the first segment was loaded.
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 6 || string(fields[2]) != "00000000" ||
			string(bytes.Join(fields[5:], []byte(" "))) != own {
			continue
		}
		start, _, _ := strings.Cut(string(fields[0]), "-")
		base, err := strconv.ParseUint(start, 16, 64)
		if err != nil {
			return 0
		}
		return b.itab + base - b.firstLoad
	}
	return 0
}
