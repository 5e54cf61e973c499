package capture

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// Filter selects the packets a live source keeps, in the kernel, before they
// reach the ring. The zero Filter keeps everything.
type Filter struct {
	// Ports keeps TCP, UDP and SCTP packets whose source or destination port
	// is in the list. IPv4 fragments after the first carry no ports and are
	// dropped, as tcpdump's "port" does; IPv6 packets whose transport header
	// does not follow the fixed header directly (extension headers) are
	// dropped too.
	Ports []uint16
	// CIDRs keeps IP packets whose source or destination address is inside
	// one of the prefixes. Combined with Ports, a packet must match both.
	CIDRs []netip.Prefix
	// Expression is a tcpdump filter expression. It replaces Ports and
	// CIDRs and needs a build with libpcap (-tags pcap, cgo).
	Expression string
}

// Limits on what Program compiles: classic BPF conditional jumps reach at
// most 255 instructions ahead.
const (
	maxFilterPorts = 100
	maxFilterCIDRs = 64
)

// Filter errors.
var (
	ErrFilterTooLarge = errors.New("capture: filter has too many ports or cidrs")
	ErrNeedsPcap      = errors.New("capture: tcpdump filter expressions need a build with -tags pcap (cgo and libpcap)")
	ErrFilterLinkType = errors.New("capture: no port or cidr filter for this link type")
)

// Program compiles f to classic BPF for packets that start with a header of
// the given link type (LinkEthernet or LinkRaw). Accepted packets are cut to
// snaplen bytes: the kernel truncates to the filter's return value, which is
// how snaplen is applied on AF_PACKET.
func (f Filter) Program(link LinkType, snaplen int) ([]bpf.RawInstruction, error) {
	if f.Expression != "" {
		return compileExpression(f.Expression, link, snaplen)
	}
	if len(f.Ports) > maxFilterPorts || len(f.CIDRs) > maxFilterCIDRs {
		return nil, ErrFilterTooLarge
	}
	a := &asm{labels: map[string]int{}}
	if len(f.Ports) == 0 && len(f.CIDRs) == 0 {
		a.emit(bpf.RetConstant{Val: uint32(snaplen)})
		return a.assemble()
	}

	// Dispatch on the IP version. The link header is 14 bytes of Ethernet
	// (loopback too) or nothing at all for raw IP devices (tun, wireguard).
	var l uint32
	switch link {
	case LinkEthernet:
		l = 14
		a.emit(bpf.LoadAbsolute{Off: 12, Size: 2})
		a.jeqFar(0x0800, "v4")
		a.jeqFar(0x86dd, "v6")
		a.ja("drop")
	case LinkRaw:
		a.emit(bpf.LoadAbsolute{Off: 0, Size: 1})
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4})
		a.jeqFar(4, "v4")
		a.jeqFar(6, "v6")
		a.ja("drop")
	default:
		return nil, fmt.Errorf("%w: %d", ErrFilterLinkType, link)
	}

	var v4, v6 []netip.Prefix
	for _, p := range f.CIDRs {
		if p.Addr().Is4() || p.Addr().Is4In6() {
			v4 = append(v4, netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), 32)))
		} else {
			v6 = append(v6, p)
		}
	}

	a.label("v4")
	if len(f.CIDRs) > 0 {
		a.cidrs(v4, l+12, l+16, "v4ok")
	}
	a.label("v4ok")
	if len(f.Ports) > 0 {
		a.emit(bpf.LoadAbsolute{Off: l + 9, Size: 1})
		a.l4()
		// Only the first fragment carries the transport header.
		a.emit(bpf.LoadAbsolute{Off: l + 6, Size: 2})
		a.jsetFar(0x1fff, "drop")
		a.emit(bpf.LoadMemShift{Off: l})
		a.ports(f.Ports, bpf.LoadIndirect{Off: l, Size: 2}, bpf.LoadIndirect{Off: l + 2, Size: 2})
	} else {
		a.ja("accept")
	}

	a.label("v6")
	if len(f.CIDRs) > 0 {
		a.cidrs(v6, l+8, l+24, "v6ok")
	}
	a.label("v6ok")
	if len(f.Ports) > 0 {
		a.emit(bpf.LoadAbsolute{Off: l + 6, Size: 1})
		a.l4()
		a.ports(f.Ports, bpf.LoadAbsolute{Off: l + 40, Size: 2}, bpf.LoadAbsolute{Off: l + 42, Size: 2})
	} else {
		a.ja("accept")
	}

	a.label("accept")
	a.emit(bpf.RetConstant{Val: uint32(snaplen)})
	a.label("drop")
	a.emit(bpf.RetConstant{Val: 0})
	return a.assemble()
}

// OutgoingOnly prefixes prog with a check that keeps only packets the host
// sends (PACKET_OUTGOING). On loopback every packet passes the tap twice,
// once leaving (outgoing) and once arriving (host); keeping one copy gives
// the sensor each segment exactly once, without a dedupe table.
func OutgoingOnly(prog []bpf.RawInstruction) ([]bpf.RawInstruction, error) {
	const packetOutgoing = 4 // PACKET_OUTGOING, linux/if_packet.h
	head, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return nil, err
	}
	return append(head, prog...), nil
}

// l4 continues with the next instruction for TCP, UDP and SCTP, which all
// start with the source and destination ports, and drops anything else.
func (a *asm) l4() {
	next := a.fresh()
	a.jeq(6, next, "")
	a.jeq(17, next, "")
	a.jeq(132, next, "")
	a.ja("drop")
	a.label(next)
}

// ports matches either port field against the list. Each comparison jumps
// to a local trampoline so that conditional jumps stay short however far
// away the accept label is.
func (a *asm) ports(ports []uint16, src, dst bpf.Instruction) {
	for i, load := range []bpf.Instruction{src, dst} {
		hit, next := a.fresh(), a.fresh()
		a.emit(load)
		for _, p := range ports {
			a.jeq(uint32(p), hit, "")
		}
		if i == 0 {
			a.ja(next)
		} else {
			a.ja("drop")
		}
		a.label(hit)
		a.ja("accept")
		a.label(next)
	}
}

// cidrs matches the source (at srcOff) or destination address against each
// prefix, 32 bits at a time, and jumps to ok on the first match.
func (a *asm) cidrs(prefixes []netip.Prefix, srcOff, dstOff uint32, ok string) {
	for _, p := range prefixes {
		p = p.Masked()
		addr := p.Addr().AsSlice()
		for _, off := range []uint32{srcOff, dstOff} {
			miss := a.fresh()
			for w := 0; w*4 < len(addr); w++ {
				bits := min(max(p.Bits()-32*w, 0), 32)
				if bits == 0 {
					break
				}
				mask := ^uint32(0) << (32 - bits)
				want := uint32(addr[4*w])<<24 | uint32(addr[4*w+1])<<16 | uint32(addr[4*w+2])<<8 | uint32(addr[4*w+3])
				a.emit(bpf.LoadAbsolute{Off: off + uint32(4*w), Size: 4})
				if mask != ^uint32(0) {
					a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask})
				}
				a.jeq(want, "", miss)
			}
			a.ja(ok)
			a.label(miss)
		}
	}
	a.ja("drop")
}

// asm is a small classic-BPF assembler with named labels. Conditional jumps
// are resolved to 8-bit skips and fail to assemble if they would reach too
// far; unconditional jumps have 32 bits.
type asm struct {
	ins    []bpf.Instruction
	fixups []fixup
	labels map[string]int
	n      int
}

type fixup struct {
	at          int
	jumpTo      string // for bpf.Jump
	ifTrue      string // for bpf.JumpIf; "" means the next instruction
	ifFalse     string
	conditional bool
}

func (a *asm) emit(i bpf.Instruction) { a.ins = append(a.ins, i) }

func (a *asm) label(name string) { a.labels[name] = len(a.ins) }

func (a *asm) fresh() string {
	a.n++
	return fmt.Sprintf(".L%d", a.n)
}

func (a *asm) jeq(val uint32, t, f string) { a.jif(bpf.JumpEqual, val, t, f) }

// jeqFar and jsetFar jump to a label that may be out of reach of an 8-bit
// skip, through an unconditional jump.
func (a *asm) jeqFar(val uint32, label string) {
	skip := a.fresh()
	a.jif(bpf.JumpEqual, val, "", skip)
	a.ja(label)
	a.label(skip)
}

func (a *asm) jsetFar(val uint32, label string) {
	skip := a.fresh()
	a.jif(bpf.JumpBitsSet, val, "", skip)
	a.ja(label)
	a.label(skip)
}

func (a *asm) jif(cond bpf.JumpTest, val uint32, t, f string) {
	a.fixups = append(a.fixups, fixup{at: len(a.ins), ifTrue: t, ifFalse: f, conditional: true})
	a.emit(bpf.JumpIf{Cond: cond, Val: val})
}

func (a *asm) ja(label string) {
	a.fixups = append(a.fixups, fixup{at: len(a.ins), jumpTo: label})
	a.emit(bpf.Jump{})
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(from int, label string) (int, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := a.labels[label]
		if !ok {
			panic("capture: undefined filter label " + label) // programmer error
		}
		d := to - from - 1
		if d < 0 {
			panic("capture: backward filter jump to " + label) // BPF jumps only forward
		}
		return d, nil
	}
	for _, fx := range a.fixups {
		if !fx.conditional {
			d, _ := skip(fx.at, fx.jumpTo)
			a.ins[fx.at] = bpf.Jump{Skip: uint32(d)}
			continue
		}
		j := a.ins[fx.at].(bpf.JumpIf)
		t, _ := skip(fx.at, fx.ifTrue)
		f, _ := skip(fx.at, fx.ifFalse)
		if t > 255 || f > 255 {
			return nil, ErrFilterTooLarge
		}
		j.SkipTrue, j.SkipFalse = uint8(t), uint8(f)
		a.ins[fx.at] = j
	}
	return bpf.Assemble(a.ins)
}
