package engine

import (
	"errors"
	"strconv"

	"github.com/apitap/apitap/sensor/tlsparse"
)

// tlsData gathers the first bytes of each direction of a TLS flow until the
// ClientHello (client side) and ServerHello (server side) parse; after that
// the flow is only counted.
func (c *conn) tlsData(dir uint8, b []byte) {
	if c.helloEnd[dir] {
		return
	}
	buf := c.hello[dir]
	in := b
	if len(buf) > 0 {
		buf = append(buf, b...)
		in = buf
	}
	var err error
	if int8(dir) == c.client || (c.client < 0 && len(in) > 5 && in[5] == 1) {
		c.client = int8(dir)
		err = c.parseClientHello(in)
	} else {
		err = c.parseServerHello(in)
	}
	if errors.Is(err, tlsparse.ErrShort) && len(in) < c.w.cfg.helloLimit() {
		if len(buf) == 0 {
			buf = append(buf, b...)
		}
		c.hello[dir] = buf
		return
	}
	c.helloEnd[dir] = true
	c.hello[dir] = nil
}

func (c *conn) parseClientHello(b []byte) error {
	ch := &c.w.hello
	ch.Reset()
	if err := tlsparse.ParseClientHello(b, ch); err != nil {
		return err
	}
	c.sni = string(ch.ServerName)
	c.alpn = c.alpn[:0]
	for _, p := range ch.ALPN {
		c.alpn = append(c.alpn, string(p))
	}
	c.ja4 = tlsparse.JA4(ch, 't')
	return nil
}

func (c *conn) parseServerHello(b []byte) error {
	sh := &c.w.shello
	sh.Reset()
	if err := tlsparse.ParseServerHello(b, sh); err != nil {
		return err
	}
	if !sh.HelloRetry {
		c.tlsVer = tlsVersionName(sh.Version)
	}
	return nil
}

// tlsFinish makes a last attempt on hellos still being gathered when the
// flow ends (the capture may have stopped mid-handshake).
func (c *conn) tlsFinish() {
	for d := range c.hello {
		if len(c.hello[d]) > 0 && !c.helloEnd[d] {
			if int8(d) == c.client {
				_ = c.parseClientHello(c.hello[d])
			}
			c.hello[d] = nil
		}
	}
}

// tlsVersionName turns a protocol version number into "1.2", "1.3", …
func tlsVersionName(v uint16) string {
	switch v {
	case 0x0300:
		return "ssl3"
	case 0x0301:
		return "1.0"
	case 0x0302:
		return "1.1"
	case 0x0303:
		return "1.2"
	case 0x0304:
		return "1.3"
	case 0:
		return ""
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}
