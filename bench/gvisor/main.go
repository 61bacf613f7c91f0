// gvisor-peer: the same bench services as bench/server.mjs, served by gVisor's netstack
// (a second userspace TCP/IP stack, in Go) on a TUN device, so `npm run bench -- --peer=gvisor`
// can put a third column beside the kernel and tuntcp.
//
//	gvisor-peer DEV ADDR4 ADDR6 MTU
//
// DEV must already exist as a TUN device (IFF_TUN, IFF_NO_PI) with its kernel side configured;
// bench/net.mjs makes it with `ip tuntap add` and deletes it afterwards. The program attaches to
// it, builds a netstack with IPv4, IPv6 and TCP, takes ADDR4 and ADDR6, and serves:
//
//	7   echo (RFC 862): every byte back; after the peer's FIN, finish and close
//	9   discard (RFC 863): read everything; close after the peer's FIN
//	80  HTTP/1.1 (Go's net/http): GET / the page of src/apps/http.ts, GET /bytes/N the chargen pattern
//
// It prints `READY {...}` when listening and, on SIGTERM, `DONE {...}` with the stack's TCP counters.
//
// Settings, chosen to be like tuntcp's bench server and like runsc (gVisor's own sandbox):
// SACK on, receive buffer auto-tuning on (both as runsc sets them), CUBIC (tuntcp's and Linux's
// default), Nagle off (netstack's default; node:http turns it off too). No segmentation offload:
// in this gVisor (20221219) fdbased offers GSO only on socket descriptors (AF_PACKET), not on a
// TUN descriptor, so every packet each way is at most MTU bytes. Transmit checksums are computed
// (the kernel checks what a TUN device hands it); receive checksums are trusted, since the kernel
// wrote them, as tuntcp trusts the ones its TUN device vouches for.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"gvisor.dev/gvisor/pkg/log"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/link/tun"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The one network interface of this stack.
const nicID tcpip.NICID = 1

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: gvisor-peer DEV ADDR4 ADDR6 MTU")
		os.Exit(2)
	}
	dev, addr4, addr6 := os.Args[1], net.ParseIP(os.Args[2]).To4(), net.ParseIP(os.Args[3]).To16()
	mtu, err := strconv.Atoi(os.Args[4])
	if addr4 == nil || addr6 == nil || err != nil || mtu < 1280 {
		fmt.Fprintln(os.Stderr, "gvisor-peer: bad address or MTU")
		os.Exit(2)
	}
	// gVisor's own log says nothing the counters do not, except one warning per connection
	// the client closed before net/http asked for its remote address (wrk, at its end);
	// those would flood the bench's output, so it goes nowhere.
	log.SetTarget(&log.Writer{Next: io.Discard})
	s, err := newStack(dev, uint32(mtu), tcpip.Address(addr4), tcpip.Address(addr6))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvisor-peer: %v\n", err)
		os.Exit(1)
	}
	page := pageFor(addr4.String())
	for _, a := range []struct {
		addr  tcpip.Address
		proto tcpip.NetworkProtocolNumber
	}{{tcpip.Address(addr4), ipv4.ProtocolNumber}, {tcpip.Address(addr6), ipv6.ProtocolNumber}} {
		serve(s, a.addr, a.proto, 7, echo)
		serve(s, a.addr, a.proto, 9, discard)
		l := listen(s, a.addr, a.proto, 80)
		go serveHTTP(l, page)
	}
	fmt.Printf("READY {\"mode\":\"gvisor\",\"pid\":%d}\n", os.Getpid())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	report, _ := json.Marshal(map[string]any{"counters": counters(s)})
	fmt.Printf("DONE %s\n", report)
}

// newStack attaches to TUN device dev and builds a netstack on it with both addresses.
func newStack(dev string, mtu uint32, addr4, addr6 tcpip.Address) (*stack.Stack, error) {
	fd, err := tun.Open(dev)
	if err != nil {
		return nil, fmt.Errorf("opening TUN device %s: %v", dev, err)
	}
	link, err := fdbased.New(&fdbased.Options{
		FDs: []int{fd},
		MTU: mtu,
		// Packets from the kernel carry correct checksums; ours must be complete.
		RXChecksumOffload: true,
		TXChecksumOffload: false,
	})
	if err != nil {
		return nil, fmt.Errorf("fdbased link: %v", err)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	cubic := tcpip.CongestionControlOption("cubic")
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &moderate, &cubic} {
		if e := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); e != nil {
			return nil, fmt.Errorf("TCP option %T: %v", opt, e)
		}
	}
	if e := s.CreateNIC(nicID, link); e != nil {
		return nil, fmt.Errorf("CreateNIC: %v", e)
	}
	for _, pa := range []tcpip.ProtocolAddress{
		{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: addr4.WithPrefix()},
		{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: addr6.WithPrefix()},
	} {
		if e := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
			return nil, fmt.Errorf("adding %v: %v", pa.AddressWithPrefix, e)
		}
	}
	// Everything leaves through the TUN device: the kernel on its far side is the only peer.
	s.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	return s, nil
}

// listen opens a TCP listener at addr:port (backlog 4096, gonet's own).
func listen(s *stack.Stack, addr tcpip.Address, proto tcpip.NetworkProtocolNumber, port uint16) net.Listener {
	l, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: nicID, Addr: addr, Port: port}, proto)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gvisor-peer: listen on port %d: %v\n", port, err)
		os.Exit(1)
	}
	return l
}

// serve accepts connections on addr:port forever, each handled by its own goroutine.
func serve(s *stack.Stack, addr tcpip.Address, proto tcpip.NetworkProtocolNumber, port uint16, handle func(net.Conn)) {
	l := listen(s, addr, proto, port)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
}

// echo (RFC 862) sends back every byte; when the peer has sent its FIN and everything is
// echoed, it closes (our FIN), as src/apps/echo.ts does on a half-open socket.
func echo(c net.Conn) {
	defer c.Close()
	io.Copy(c, c)
}

// discard (RFC 863) reads and drops everything, 64 KiB at a time; at the peer's FIN it closes.
func discard(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64*1024)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// pageFor is the page src/apps/http.ts serves at /, byte for byte, naming this stack's address
// (the same length as tuntcp's: both are 10.78.x.2).
func pageFor(addr string) []byte {
	return []byte(strings.Join([]string{
		"<!doctype html>",
		"<title>tuntcp</title>",
		fmt.Sprintf("<h1>tuntcp at %s</h1>", addr),
		"<p>This page came over a TCP connection run in userspace by tuntcp.</p>",
		`<p>Try <a href="/bytes/1048576">/bytes/1048576</a> for a mebibyte of chargen text.</p>`,
		"",
	}, "\n"))
}

// chargenPeriod is one period of the chargen pattern (RFC 864), as src/apps/chargen.ts makes it:
// 95 lines of 72 printable characters and CR LF, each line starting one character further on.
func chargenPeriod() []byte {
	const printable, line = 95, 72
	p := make([]byte, 0, printable*(line+2))
	for l := 0; l < printable; l++ {
		for i := 0; i < line; i++ {
			p = append(p, byte(32+(l+i)%printable))
		}
		p = append(p, '\r', '\n')
	}
	return p
}

// maxBytes is the largest /bytes/N served (1 TiB), as in src/apps/http.ts.
const maxBytes = 1 << 40

var bytesPath = regexp.MustCompile(`^/bytes/(\d{1,13})$`)

// serveHTTP runs net/http on listener l with the routes of src/apps/http.ts.
func serveHTTP(l net.Listener, page []byte) {
	// 64 whole periods per write (450 KB), as src/apps/http.ts writes them.
	chunk := make([]byte, 0, 64*7030)
	for i := 0; i < 64; i++ {
		chunk = append(chunk, chargenPeriod()...)
	}
	route := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusMethodNotAllowed)
			io.WriteString(w, "method not allowed\n")
			return
		}
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			if r.Method == http.MethodGet {
				w.Write(page)
			}
			return
		}
		m := bytesPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "not found: try / or /bytes/N\n")
			return
		}
		total, _ := strconv.ParseInt(m[1], 10, 64)
		if total > maxBytes {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "at most %d bytes\n", int64(maxBytes))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
		if r.Method == http.MethodHead {
			return
		}
		for sent := int64(0); sent < total; {
			n := int64(len(chunk))
			if total-sent < n {
				n = total - sent
			}
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			sent += n
		}
	}
	// No read or idle timeouts, unlike node:http (5 s idle keep-alive, 60 s per request): in
	// this gVisor, gonet's deadlines can lose a wake-up. A deadline that had a timer, replaced
	// by one already past, closes a fresh channel while a blocked Read waits on the old one
	// (setDeadline takes Stop() == false on a stopped timer to mean it fired). net/http moves
	// the deadline into the past to stop its background read after each response, so with
	// timeouts set a connection hangs until the client closes it. The bench's clients close
	// every connection they open, so nothing lingers.
	server := &http.Server{Handler: http.HandlerFunc(route)}
	server.Serve(l)
}

// counters are the stack's TCP counters for the DONE report.
func counters(s *stack.Stack) map[string]uint64 {
	t := s.Stats().TCP
	return map[string]uint64{
		"segmentsIn":             t.ValidSegmentsReceived.Value(),
		"invalidSegmentsIn":      t.InvalidSegmentsReceived.Value(),
		"segmentsOut":            t.SegmentsSent.Value(),
		"retransmissions":        t.Retransmits.Value(),
		"passiveOpens":           t.PassiveConnectionOpenings.Value(),
		"listenOverflowSynDrops": t.ListenOverflowSynDrop.Value(),
		"resetsSent":             t.ResetsSent.Value(),
		"checksumErrors":         t.ChecksumErrors.Value(),
		"fastRetransmits":        t.FastRetransmit.Value(),
		"retransmitTimeouts":     t.Timeouts.Value(),
	}
}
