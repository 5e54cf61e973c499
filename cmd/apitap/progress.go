package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progressBar draws frames read on standard error, only when it is a
// terminal, at most a few times a second.
type progressBar struct {
	w     io.Writer
	size  int64
	read  func() int64 // bytes of the file read so far, -1 if unknown
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(file string, w io.Writer, read func() int64) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	p := &progressBar{w: w, start: time.Now(), read: read}
	if st, err := os.Stat(file); err == nil && st.Mode().IsRegular() {
		p.size = st.Size()
	}
	return p
}

func (p *progressBar) update(frames uint64) {
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.drawn = true
	el := now.Sub(p.start).Seconds()
	if n := p.read(); p.size > 0 && n >= 0 {
		pct := min(100*float64(n)/float64(p.size), 100)
		const width = 30
		done := int(pct / 100 * width)
		fmt.Fprintf(p.w, "\r[%s%s] %5.1f%%  %12d packets  %6.1fs", strings.Repeat("#", done),
			strings.Repeat(".", width-done), pct, frames, el)
		return
	}
	fmt.Fprintf(p.w, "\r%12d packets  %8.0f packets/s  %6.1fs", frames, float64(frames)/el, el)
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
