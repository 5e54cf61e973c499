// Command gotls exercises the Go crypto/tls probes: it serves HTTPS on a
// loopback port, prints the address, and once a line arrives on stdin calls
// itself over keep-alive HTTP/1.1 (HTTP/2 with a third argument "h2") as
// many times as its first argument says, with the Bearer token of its
// second, then prints "done".
package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 3 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: gotls CALLS TOKEN [h2]")
		os.Exit(2)
	}
	h2 := len(os.Args) == 4 && os.Args[3] == "h2"
	calls, err := strconv.Atoi(os.Args[1])
	check(err)
	cert := selfSigned()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if h2 {
		// Serve's own TLS set-up is bypassed by a TLS listener: offer h2
		// in ALPN here, as ServeTLS would.
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	check(err)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":true,"path":%q}`, r.URL.Path)
		}),
	}
	if !h2 {
		// HTTP/1.1 only: an empty map switches HTTP/2 off.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	go srv.Serve(ln)
	fmt.Println(ln.Addr())

	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(0)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	for i := range calls {
		body := bytes.NewReader([]byte(`{"item":` + strconv.Itoa(i) + `}`))
		req, err := http.NewRequest("POST", "https://"+ln.Addr().String()+"/api/items/"+
			strconv.Itoa(i), body)
		check(err)
		req.Header.Set("Authorization", "Bearer "+os.Args[2])
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		check(err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Println("done")
	// Stay until the test has read what it needs and closes stdin.
	io.Copy(io.Discard, os.Stdin)
}

func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gotls.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	check(err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotls:", err)
		os.Exit(1)
	}
}
