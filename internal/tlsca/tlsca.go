// Package tlsca issues and checks the database's TLS certificates
// (database.tls): a CA haup creates and keeps beside the inventory and the
// server certificate it issues from it, or the operator's own files, checked
// before anything is installed.
package tlsca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Validity of what haup issues: the CA for ten years, a server certificate
// for a year (renewed by the plan before MinValid runs out).
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 365 * 24 * time.Hour
)

// IssueCA creates a CA: its certificate and its private key (PKCS#8), PEM.
func IssueCA(name string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"haup"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return encode(der, key)
}

// IssueServer issues a server certificate from the CA for names: each an IP
// address or a DNS name.
func IssueServer(caCertPEM, caKeyPEM []byte, names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	ca, err := ParseCert(caCertPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	caKey, err := ParseKey(caKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA's key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	var ips []netip.Addr
	var dns []string
	for _, n := range names {
		if a, err := netip.ParseAddr(n); err == nil {
			ips = append(ips, a)
		} else {
			dns = append(dns, n)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "haup database", Organization: []string{"haup"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServerValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
	}
	for _, a := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(a.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	return encode(der, key)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func encode(der []byte, key *ecdsa.PrivateKey) ([]byte, []byte, error) {
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), nil
}

// ParseCerts reads every certificate of a PEM file, in order.
func ParseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	return out, nil
}

// ParseCert reads the first certificate of a PEM file.
func ParseCert(b []byte) (*x509.Certificate, error) {
	cs, err := ParseCerts(b)
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// ParseKey reads a PEM private key: PKCS#8, PKCS#1 (RSA) or SEC 1 (EC).
func ParseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM private key in it")
		}
		var k any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the key is encrypted: PostgreSQL cannot read it without a passphrase command; give it unencrypted (mode 0600)")
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T key cannot sign", k)
		}
		return s, nil
	}
}

// Problem is one thing wrong with a set of certificate files, and which file
// it is about ("ca", "cert" or "key").
type Problem struct {
	File string
	Msg  string
}

// Check tells what keeps the operator's files from serving the cluster: the
// key must match the certificate, the certificate (with the intermediates
// after it in its file) must chain to the CA, be valid now and for
// minValid more, be for servers, and name every address in want.
func Check(caPEM, certPEM, keyPEM []byte, want []string, now time.Time, minValid time.Duration) []Problem {
	var out []Problem
	roots := x509.NewCertPool()
	cas, err := ParseCerts(caPEM)
	if err != nil {
		out = append(out, Problem{"ca", err.Error()})
	}
	for _, c := range cas {
		roots.AddCert(c)
	}
	chain, err := ParseCerts(certPEM)
	if err != nil {
		return append(out, Problem{"cert", err.Error()})
	}
	leaf := chain[0]
	key, err := ParseKey(keyPEM)
	switch {
	case err != nil:
		out = append(out, Problem{"key", err.Error()})
	case !publicEqual(key.Public(), leaf.PublicKey):
		out = append(out, Problem{"key", fmt.Sprintf("does not match the certificate (%s): it is the key of another certificate", Describe(leaf))})
	}
	if len(cas) > 0 {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			var inv x509.CertificateInvalidError
			if !errors.As(err, &inv) || inv.Reason != x509.Expired {
				out = append(out, Problem{"cert", fmt.Sprintf("is not valid for a server under the CA of ca_file: %v", err)})
			}
		}
	}
	switch {
	case now.Before(leaf.NotBefore):
		out = append(out, Problem{"cert", fmt.Sprintf("is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))})
	case !now.Before(leaf.NotAfter):
		out = append(out, Problem{"cert", fmt.Sprintf("expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))})
	case now.Add(minValid).After(leaf.NotAfter):
		out = append(out, Problem{"cert", fmt.Sprintf("expires on %s, in %d days: fewer than min_valid_days (%d); renew it first",
			leaf.NotAfter.UTC().Format("2006-01-02"), DaysLeft(leaf, now), int(minValid/(24*time.Hour)))})
	}
	if miss := Missing(leaf, want); len(miss) > 0 {
		out = append(out, Problem{"cert", fmt.Sprintf("does not name %s (its names: %s); a client checking the name (sslmode=verify-full) would refuse it there",
			strings.Join(miss, ", "), strings.Join(Names(leaf), ", "))})
	}
	return out
}

// Missing lists the addresses and names of want the certificate does not
// name.
func Missing(c *x509.Certificate, want []string) []string {
	var out []string
	for _, a := range want {
		if c.VerifyHostname(a) != nil {
			out = append(out, a)
		}
	}
	return out
}

// Names are the certificate's subject alternative names, sorted.
func Names(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// DaysLeft is the whole days until the certificate expires (negative once
// it has).
func DaysLeft(c *x509.Certificate, now time.Time) int {
	d := c.NotAfter.Sub(now)
	if d < 0 {
		return -int((-d).Hours()/24) - 1
	}
	return int(d.Hours() / 24)
}

// Describe names a certificate for messages: its subject and expiry.
func Describe(c *x509.Certificate) string {
	return fmt.Sprintf("%s, expires %s", c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02"))
}

func publicEqual(a, b crypto.PublicKey) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(eq); ok {
		return e.Equal(b)
	}
	ab, err1 := x509.MarshalPKIXPublicKey(a)
	bb, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}
