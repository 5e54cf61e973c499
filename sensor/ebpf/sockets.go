package ebpf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// sockets resolves a process's file descriptor to the TCP endpoints of the
// socket behind it, through /proc/PID/fd and /proc/PID/net/tcp{,6}. The
// latter show the process's own network namespace, so containers work.
// Results are cached per (pid, fd); an entry is re-validated by one readlink
// after revalidate, because fds are reused once a connection closes. Not safe
// for concurrent use.
type sockets struct {
	cache      map[sockKey]sockEntry
	max        int
	revalidate time.Duration
	now        func() time.Time
}

type sockKey struct {
	pid uint32
	fd  int32
}

type sockEntry struct {
	inode         uint64
	local, remote netip.AddrPort
	checked       time.Time
}

func newSockets(max int) *sockets {
	return &sockets{cache: make(map[sockKey]sockEntry), max: max,
		revalidate: 2 * time.Second, now: time.Now}
}

// lookup returns the endpoints of pid's fd; ok is false when the fd is not
// (or no longer) a TCP socket.
func (s *sockets) lookup(pid uint32, fd int32) (local, remote netip.AddrPort, ok bool) {
	if fd < 0 {
		return local, remote, false
	}
	k := sockKey{pid, fd}
	now := s.now()
	e, hit := s.cache[k]
	if hit && now.Sub(e.checked) < s.revalidate {
		return e.local, e.remote, true
	}
	ino, err := socketInode(pid, fd)
	if err != nil {
		delete(s.cache, k)
		return local, remote, false
	}
	if hit && e.inode == ino {
		e.checked = now
		s.cache[k] = e
		return e.local, e.remote, true
	}
	l, r, found := findTCP(pid, ino)
	if !found {
		delete(s.cache, k)
		return local, remote, false
	}
	if len(s.cache) >= s.max {
		clear(s.cache) // bounded: start over rather than track age
	}
	s.cache[k] = sockEntry{inode: ino, local: l, remote: r, checked: now}
	return l, r, true
}

// socketInode reads the "socket:[N]" link of /proc/PID/fd/FD.
func socketInode(pid uint32, fd int32) (uint64, error) {
	target, err := os.Readlink("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/fd/" +
		strconv.FormatInt(int64(fd), 10))
	if err != nil {
		return 0, err
	}
	const prefix = "socket:["
	if len(target) < len(prefix)+2 || target[:len(prefix)] != prefix ||
		target[len(target)-1] != ']' {
		return 0, os.ErrNotExist
	}
	return strconv.ParseUint(target[len(prefix):len(target)-1], 10, 64)
}

// findTCP scans /proc/PID/net/tcp and tcp6 for the socket with inode ino.
func findTCP(pid uint32, ino uint64) (local, remote netip.AddrPort, ok bool) {
	base := "/proc/" + strconv.FormatUint(uint64(pid), 10) + "/net/"
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(base + name)
		if err != nil {
			continue
		}
		local, remote, ok = scanTCPTable(f, ino)
		f.Close()
		if ok {
			return local, remote, true
		}
	}
	return local, remote, false
}

// scanTCPTable finds inode ino in a /proc/net/tcp{,6} table. Lines look like
// "  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000
// 0 0 12345 ...": local, remote, state, queues, timer, retransmits, uid,
// timeout, inode.
func scanTCPTable(f *os.File, ino uint64) (local, remote netip.AddrPort, ok bool) {
	sc := bufio.NewScanner(f)
	want := []byte(strconv.FormatUint(ino, 10))
	sc.Scan() // header
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 10 || !bytes.Equal(fields[9], want) {
			continue
		}
		l, err1 := parseProcAddr(fields[1])
		r, err2 := parseProcAddr(fields[2])
		if err1 != nil || err2 != nil {
			return local, remote, false
		}
		return l, r, true
	}
	return local, remote, false
}

// parseProcAddr decodes "0100007F:1F90" (IPv4) or a 32-hex-digit IPv6
// address: the kernel prints each 32-bit word of the address in host byte
// order (little endian here), the port in network order as a number.
func parseProcAddr(b []byte) (netip.AddrPort, error) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return netip.AddrPort{}, strconv.ErrSyntax
	}
	port, err := strconv.ParseUint(string(b[i+1:]), 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var raw [16]byte
	n, err := hex.Decode(raw[:], b[:i])
	if err != nil || (n != 4 && n != 16) {
		return netip.AddrPort{}, strconv.ErrSyntax
	}
	var out [16]byte
	for w := 0; w < n/4; w++ {
		binary.BigEndian.PutUint32(out[w*4:], binary.LittleEndian.Uint32(raw[w*4:]))
	}
	var addr netip.Addr
	if n == 4 {
		addr = netip.AddrFrom4([4]byte(out[:4]))
	} else {
		addr = netip.AddrFrom16(out).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
