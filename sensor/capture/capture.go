// Package capture reads packets from where they are captured: capture files
// (pcap and pcapng, also from standard input) and, on Linux, live interfaces.
// Every source hands packets to the core the same way, through Source.
package capture

import (
	"errors"
	"time"

	"github.com/google/gopacket/layers"
)

// Info describes one captured packet.
type Info struct {
	Timestamp time.Time
	// CaptureLength is how many bytes were captured; Length is how long the
	// packet was on the wire. CaptureLength < Length means snaplen cut it.
	CaptureLength int
	Length        int
	LinkType      layers.LinkType
	// Interface is the index of the interface within the source (pcapng
	// interface id, or the position in the configured interface list).
	Interface int
}

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

// Errors a source returns for input that is not a capture at all.
var (
	ErrEmpty       = errors.New("capture: file is empty")
	ErrNotACapture = errors.New("capture: not a pcap or pcapng file")
)
