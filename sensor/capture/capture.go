// Package capture reads packets from where they are captured: capture files
// (pcap and pcapng, also from standard input) and, on Linux, live interfaces.
// Every source hands packets to the core the same way, through Source. A
// plain pcap file can also be mapped into memory (FileSource.Map), so that
// several goroutines walk its records at once without reading or copying.
package capture

import (
	"errors"
	"time"
)

// Info describes one captured packet.
type Info struct {
	Timestamp time.Time
	// CaptureLength is how many bytes were captured; Length is how long the
	// packet was on the wire. CaptureLength < Length means snaplen cut it.
	CaptureLength int
	Length        int
	LinkType      LinkType
	// Interface is the index of the interface within the source (pcapng
	// interface id, or the position in the configured interface list).
	Interface int
}

// LinkType is a capture's link-layer header type, as registered by
// tcpdump.org (LINKTYPE_*). gopacket's LinkType is a byte and cannot hold
// newer types such as Linux cooked v2 (276), so the sensor keeps its own.
type LinkType uint16

// Link types the decoder understands.
const (
	LinkNull      LinkType = 0   // BSD loopback, host-order address family
	LinkEthernet  LinkType = 1   // Ethernet
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6
	LinkRawBSD    LinkType = 12  // raw IP on OpenBSD and others (DLT_RAW)
	LinkRawBSD14  LinkType = 14  // raw IP on some BSDs
	LinkLoop      LinkType = 108 // OpenBSD loopback, network-order family
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228
	LinkIPv6      LinkType = 229
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)

// Source yields packets in capture order.
type Source interface {
	// ReadPacket returns the next packet. The returned slice is owned by the
	// source and is valid only until the next call to ReadPacket; a caller
	// that keeps bytes longer must copy them. At the end of the input it
	// returns io.EOF.
	ReadPacket() (data []byte, ci Info, err error)
	// Close releases the source. It is safe to call more than once.
	Close() error
}

// ErrIdle is returned by a live source whose read waited IdleInterval with
// no packet. It is not a failure: it gives the reader a chance to expire
// idle flows and publish counters while the network is quiet. Call
// ReadPacket again.
var ErrIdle = errors.New("capture: no packet within the idle interval")

// IdleInterval is how long a live source waits before returning ErrIdle.
const IdleInterval = time.Second

// Errors a source returns for input that is not a capture at all.
var (
	ErrEmpty       = errors.New("capture: file is empty")
	ErrNotACapture = errors.New("capture: not a pcap or pcapng file")
)
