package capture

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// pkt builds a packet: Ethernet (or nothing for raw), IPv4 or IPv6, then TCP,
// UDP or ICMP. frag sets an IPv4 fragment offset.
func pkt(t *testing.T, link LinkType, src, dst string, proto string, sport, dport uint16, frag uint16) []byte {
	t.Helper()
	s, d := net.ParseIP(src), net.ParseIP(dst)
	var ls []gopacket.SerializableLayer
	v6 := s.To4() == nil
	et := layers.EthernetTypeIPv4
	if v6 {
		et = layers.EthernetTypeIPv6
	}
	if link == LinkEthernet {
		ls = append(ls, &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1},
			DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: et})
	}
	ipproto := map[string]layers.IPProtocol{"tcp": layers.IPProtocolTCP, "udp": layers.IPProtocolUDP,
		"icmp": layers.IPProtocolICMPv4}[proto]
	var nl gopacket.NetworkLayer
	if v6 {
		ip := &layers.IPv6{Version: 6, SrcIP: s, DstIP: d, NextHeader: ipproto, HopLimit: 64}
		ls, nl = append(ls, ip), ip
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, SrcIP: s, DstIP: d, Protocol: ipproto, FragOffset: frag}
		ls, nl = append(ls, ip), ip
	}
	switch proto {
	case "tcp":
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true}
		_ = tcp.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tcp)
	case "udp":
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		_ = udp.SetNetworkLayerForChecksum(nl)
		ls = append(ls, udp)
	case "icmp":
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)})
	}
	ls = append(ls, gopacket.Payload("hello"))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return buf.Bytes()
}

func run(t *testing.T, f Filter, link LinkType, data []byte) int {
	t.Helper()
	raw, err := f.Program(link, 1000)
	if err != nil {
		t.Fatalf("Program(%+v) = %v", f, err)
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("Disassemble: not all instructions decoded")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	n, err := vm.Run(data)
	if err != nil {
		t.Fatalf("vm.Run: %v", err)
	}
	return n
}

func TestFilterProgram(t *testing.T) {
	web := Filter{Ports: []uint16{80, 8080}}
	nets := Filter{CIDRs: []netip.Prefix{netip.MustParsePrefix("10.205.0.0/24"), netip.MustParsePrefix("fd00:205::/32")}}
	both := Filter{Ports: []uint16{443}, CIDRs: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}}
	ether := LinkEthernet
	arp := func() []byte {
		buf := gopacket.NewSerializeBuffer()
		_ = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: layers.EthernetBroadcast,
				EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6,
				ProtAddressSize: 4, Operation: 1, SourceHwAddress: []byte{2, 0, 0, 0, 0, 1},
				SourceProtAddress: []byte{10, 0, 0, 1}, DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
		return buf.Bytes()
	}()

	tests := []struct {
		name   string
		f      Filter
		link   LinkType
		data   []byte
		accept bool
	}{
		{"no filter keeps arp", Filter{}, ether, arp, true},
		{"port filter drops arp", web, ether, arp, false},
		{"dst port", web, ether, pkt(t, ether, "10.0.0.1", "10.0.0.2", "tcp", 40000, 80, 0), true},
		{"src port", web, ether, pkt(t, ether, "10.0.0.2", "10.0.0.1", "tcp", 8080, 40000, 0), true},
		{"other port", web, ether, pkt(t, ether, "10.0.0.1", "10.0.0.2", "tcp", 40000, 9090, 0), false},
		{"udp port", web, ether, pkt(t, ether, "10.0.0.1", "10.0.0.2", "udp", 5353, 80, 0), true},
		{"icmp with port filter", web, ether, pkt(t, ether, "10.0.0.1", "10.0.0.2", "icmp", 0, 0, 0), false},
		{"later fragment", web, ether, pkt(t, ether, "10.0.0.1", "10.0.0.2", "tcp", 40000, 80, 100), false},
		{"ipv6 port", web, ether, pkt(t, ether, "fd00::1", "fd00::2", "tcp", 40000, 8080, 0), true},
		{"ipv6 other port", web, ether, pkt(t, ether, "fd00::1", "fd00::2", "tcp", 40000, 22, 0), false},
		{"cidr dst", nets, ether, pkt(t, ether, "192.0.2.1", "10.205.0.9", "tcp", 1, 2, 0), true},
		{"cidr src", nets, ether, pkt(t, ether, "10.205.0.200", "192.0.2.1", "udp", 1, 2, 0), true},
		{"cidr miss", nets, ether, pkt(t, ether, "10.205.1.1", "192.0.2.1", "tcp", 1, 2, 0), false},
		{"cidr v6", nets, ether, pkt(t, ether, "fd00:205:1::1", "2001:db8::1", "tcp", 1, 2, 0), true},
		{"cidr v6 miss", nets, ether, pkt(t, ether, "fd00:206::1", "2001:db8::1", "tcp", 1, 2, 0), false},
		{"both match", both, ether, pkt(t, ether, "192.168.1.1", "8.8.8.8", "tcp", 50000, 443, 0), true},
		{"both port miss", both, ether, pkt(t, ether, "192.168.1.1", "8.8.8.8", "tcp", 50000, 80, 0), false},
		{"both cidr miss", both, ether, pkt(t, ether, "172.16.1.1", "8.8.8.8", "tcp", 50000, 443, 0), false},
		{"v4-only cidr drops v6", both, ether, pkt(t, ether, "fd00::1", "fd00::2", "tcp", 1, 443, 0), false},
		{"raw link port", web, LinkRaw, pkt(t, LinkRaw, "10.0.0.1", "10.0.0.2", "tcp", 40000, 80, 0), true},
		{"raw link miss", web, LinkRaw, pkt(t, LinkRaw, "10.0.0.1", "10.0.0.2", "tcp", 40000, 81, 0), false},
		{"raw link v6 cidr", nets, LinkRaw, pkt(t, LinkRaw, "fd00:205::1", "fd00::2", "udp", 1, 2, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := run(t, tt.f, tt.link, tt.data)
			want := 0
			if tt.accept {
				want = 1000 // the snaplen; the kernel cuts to min(snaplen, len)
			}
			if n != want {
				t.Errorf("filter %+v on %d-byte packet returned %d; want %d", tt.f, len(tt.data), n, want)
			}
		})
	}
}

func TestFilterLimits(t *testing.T) {
	many := make([]uint16, maxFilterPorts)
	for i := range many {
		many[i] = uint16(1000 + i)
	}
	if _, err := (Filter{Ports: many}).Program(LinkEthernet, 100); err != nil {
		t.Errorf("Program(%d ports) = %v; want nil", len(many), err)
	}
	many = append(many, 1)
	if _, err := (Filter{Ports: many}).Program(LinkEthernet, 100); !errors.Is(err, ErrFilterTooLarge) {
		t.Errorf("Program(%d ports) = %v; want ErrFilterTooLarge", len(many), err)
	}
	var cidrs []netip.Prefix
	for i := range maxFilterCIDRs {
		cidrs = append(cidrs, netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, byte(i)}), 100))
	}
	// The last prefix must still be reachable: check a packet inside it.
	f := Filter{CIDRs: cidrs, Ports: []uint16{80}}
	last := cidrs[len(cidrs)-1].Addr().String()
	if n := run(t, f, LinkEthernet, pkt(t, LinkEthernet, "2001:db8::1", last, "tcp", 1, 80, 0)); n == 0 {
		t.Errorf("filter with %d cidrs dropped a packet to %s", len(cidrs), last)
	}
	if _, err := (Filter{Ports: []uint16{80}}).Program(LinkLinuxSLL2, 100); !errors.Is(err, ErrFilterLinkType) {
		t.Errorf("Program(LinkLinuxSLL2) = %v; want ErrFilterLinkType", err)
	}
}

func TestOutgoingOnlyAssembles(t *testing.T) {
	prog, err := Filter{Ports: []uint16{80}}.Program(LinkEthernet, 100)
	if err != nil {
		t.Fatal(err)
	}
	out, err := OutgoingOnly(prog)
	if err != nil {
		t.Fatalf("OutgoingOnly = %v", err)
	}
	if len(out) != len(prog)+3 {
		t.Errorf("len(OutgoingOnly(prog)) = %d; want %d", len(out), len(prog)+3)
	}
}
