package sink

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Writer is a Sink writing JSON lines to an io.Writer (standard output).
type Writer struct {
	w *bufio.Writer
}

// NewWriter returns a sink writing one event per line to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write writes evs and flushes.
func (s *Writer) Write(_ context.Context, evs []Event) error {
	for i := range evs {
		s.w.Write(evs[i].Value)
		s.w.WriteByte('\n')
	}
	return s.w.Flush()
}

// Close flushes.
func (s *Writer) Close(context.Context) error { return s.w.Flush() }

// FileConfig configures a File sink.
type FileConfig struct {
	Path string // required
	// MaxBytes is the size at which the file is rotated. Default 100 MiB.
	MaxBytes int64
	// Keep is how many rotated files (Path.1 … Path.Keep) are kept.
	// Default 5.
	Keep int
	// Sync fsyncs after every batch, not only on rotation and Close.
	Sync bool
}

// File is a Sink writing JSON lines to a file rotated by size. It is not
// safe for concurrent use (a Queue calls it from one goroutine).
type File struct {
	cfg  FileConfig
	f    *os.File
	w    *bufio.Writer
	size int64
}

// NewFile opens (appending) or creates cfg.Path.
func NewFile(cfg FileConfig) (*File, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 100 << 20
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 5
	}
	s := &File{cfg: cfg}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *File) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("sink: open file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("sink: stat file: %w", err)
	}
	s.f, s.size = f, st.Size()
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		s.w.Reset(f)
	}
	return nil
}

// Write appends evs, rotating first whenever the next line would pass
// MaxBytes.
func (s *File) Write(_ context.Context, evs []Event) error {
	for i := range evs {
		n := int64(len(evs[i].Value) + 1)
		if s.size > 0 && s.size+n > s.cfg.MaxBytes {
			if err := s.rotate(); err != nil {
				return err
			}
		}
		s.w.Write(evs[i].Value)
		s.w.WriteByte('\n')
		s.size += n
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("sink: write file: %w", err)
	}
	if s.cfg.Sync {
		return s.f.Sync()
	}
	return nil
}

// rotate closes the current file (fsynced) and shifts Path.i to Path.i+1.
func (s *File) rotate() error {
	if err := s.closeFile(); err != nil {
		return err
	}
	os.Remove(s.cfg.Path + "." + strconv.Itoa(s.cfg.Keep))
	for i := s.cfg.Keep - 1; i >= 1; i-- {
		os.Rename(s.cfg.Path+"."+strconv.Itoa(i), s.cfg.Path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(s.cfg.Path, s.cfg.Path+".1"); err != nil {
		return fmt.Errorf("sink: rotate file: %w", err)
	}
	return s.open()
}

func (s *File) closeFile() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("sink: write file: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sink: sync file: %w", err)
	}
	return s.f.Close()
}

// Close flushes, fsyncs and closes the file.
func (s *File) Close(context.Context) error { return s.closeFile() }
