package capture

import (
	"os"

	"golang.org/x/sys/unix"
)

// canMap says whether FileSource.Map can map files on this system.
const canMap = true

// mapFile maps size bytes of f read-only. The pages come in as they are
// touched (the kernel maps a few around each fault), and MADV_SEQUENTIAL
// asks for read-ahead, since the readers walk the file from start to end.
func mapFile(f *os.File, size int) ([]byte, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var data []byte
	cerr := rc.Control(func(fd uintptr) {
		data, err = unix.Mmap(int(fd), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	})
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	// Advice only: a kernel that ignores it reads the file just the same.
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	return data, nil
}

// releasePages gives back the pages of b, a page-aligned part of a mapping.
// They stay in the page cache; touching them again maps them again.
func releasePages(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_DONTNEED)
	}
}

// unmapFile undoes mapFile.
func unmapFile(data []byte) error { return unix.Munmap(data) }
