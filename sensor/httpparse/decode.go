package httpparse

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// maxCodings bounds stacked content codings ("gzip, gzip, ...").
const maxCodings = 4

type coding uint8

const (
	codingNone coding = iota
	codingIdentity
	codingGzip
	codingDeflate
	codingBrotli
	codingZstd
)

func codingOf(tok []byte) coding {
	switch {
	case equalFold(tok, "gzip"), equalFold(tok, "x-gzip"):
		return codingGzip
	case equalFold(tok, "deflate"):
		return codingDeflate
	case equalFold(tok, "br"):
		return codingBrotli
	case equalFold(tok, "zstd"):
		return codingZstd
	case equalFold(tok, "identity"):
		return codingIdentity
	}
	return codingNone
}

// parseCodings splits a Content-Encoding list into out, in the order the
// codings were applied (RFC 9110 §8.4.1); ok is false for an unknown or
// too long list.
func parseCodings(v []byte, out *[maxCodings]coding) (n int, ok bool) {
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, nil
		}
		tok = trimOWS(tok)
		if len(tok) == 0 {
			continue
		}
		cd := codingOf(tok)
		if cd == codingNone || n == maxCodings {
			return 0, false
		}
		if cd == codingIdentity {
			continue
		}
		out[n] = cd
		n++
	}
	return n, n > 0
}

// decodable reports whether the Content-Encoding value v can be decoded.
func decodable(v []byte) bool {
	var cs [maxCodings]coding
	_, ok := parseCodings(v, &cs)
	return ok
}

// decoder runs content decoding; one per Conn. The decompressors
// themselves are pooled per process, since few bodies need them.
type decoder struct {
	src bytes.Reader
	tmp [2][]byte
}

var (
	gzipPool, zlibPool, flatePool, brPool, zstdPool sync.Pool
	errDecodeSetup                                  = errors.New("httpparse: decoder setup")
)

// run decodes in (the encoded body prefix) through the codings of enc,
// last applied first, into dst, keeping at most max bytes. The flags say
// whether the output was cut at max (FlagTruncated) or the input did not
// decode (FlagDecodeError).
func (d *decoder) run(in, enc []byte, max int, dst []byte) ([]byte, Flags) {
	var cs [maxCodings]coding
	n, ok := parseCodings(enc, &cs)
	if !ok {
		return append(dst, in...), FlagDecodeError
	}
	var fl Flags
	cur := in
	for i := n - 1; i >= 0; i-- {
		var out []byte
		if i == 0 {
			out = dst[:0]
		} else {
			out = d.tmp[i&1][:0]
		}
		var f Flags
		out, f = d.one(cs[i], cur, max, out)
		if i != 0 {
			d.tmp[i&1] = out[:0]
		}
		fl |= f
		cur = out
		if f&FlagDecodeError != 0 && len(out) == 0 {
			break
		}
	}
	return cur, fl
}

// one runs a single decompressor over in.
func (d *decoder) one(cd coding, in []byte, max int, out []byte) ([]byte, Flags) {
	d.src.Reset(in)
	var (
		r    io.Reader
		err  error
		done func()
	)
	switch cd {
	case codingGzip:
		z, _ := gzipPool.Get().(*gzip.Reader)
		if z == nil {
			z, err = gzip.NewReader(&d.src)
		} else {
			err = z.Reset(&d.src)
		}
		if z != nil {
			done = func() { gzipPool.Put(z) }
		}
		r = z
	case codingDeflate:
		// RFC 9110 §8.4.1.2: "deflate" is zlib, but servers also send raw
		// deflate: the zlib header check (RFC 1950 §2.2) tells them apart.
		if len(in) >= 2 && in[0]&0x0f == 8 && (uint16(in[0])<<8|uint16(in[1]))%31 == 0 {
			z, _ := zlibPool.Get().(io.ReadCloser)
			if z == nil {
				z, err = zlib.NewReader(&d.src)
			} else {
				err = z.(zlib.Resetter).Reset(&d.src, nil)
			}
			if z != nil {
				done = func() { zlibPool.Put(z) }
			}
			r = z
		} else {
			z, _ := flatePool.Get().(io.ReadCloser)
			if z == nil {
				z = flate.NewReader(&d.src)
			} else {
				err = z.(flate.Resetter).Reset(&d.src, nil)
			}
			done = func() { flatePool.Put(z) }
			r = z
		}
	case codingBrotli:
		z, _ := brPool.Get().(*brotli.Reader)
		if z == nil {
			z = brotli.NewReader(&d.src)
		} else {
			err = z.Reset(&d.src)
		}
		done = func() { brPool.Put(z) }
		r = z
	case codingZstd:
		z, _ := zstdPool.Get().(*zstd.Decoder)
		if z == nil {
			z, err = zstd.NewReader(&d.src, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
		} else {
			err = z.Reset(&d.src)
		}
		if z != nil {
			done = func() { zstdPool.Put(z) }
		}
		r = z
	default:
		err = errDecodeSetup
	}
	if done != nil {
		defer done()
	}
	if err != nil || r == nil {
		return out, FlagDecodeError
	}

	for zero := 0; len(out) < max && zero < 100; {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		lim := cap(out)
		if lim > max {
			lim = max
		}
		k, err := r.Read(out[len(out):lim])
		out = out[:len(out)+k]
		if k == 0 {
			zero++ // a reader stuck at (0, nil) must not spin forever
		}
		if err == io.EOF {
			return out, 0
		}
		if err != nil {
			return out, FlagDecodeError
		}
	}
	if len(out) < max {
		return out, FlagDecodeError
	}
	// Full: one more byte says whether the body went on.
	var one [1]byte
	if k, _ := io.ReadFull(r, one[:]); k > 0 {
		return out, FlagTruncated
	}
	return out, 0
}
