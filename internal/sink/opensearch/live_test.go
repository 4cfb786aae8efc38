//go:build live

package opensearch_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// TestLive runs the sink suite against a real cluster:
//
//	OPENSEARCH_URL=https://admin:pass@localhost:9200 go test -tags live ./internal/sink/opensearch/
//
// Credentials come from the URL, OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD or,
// for an Amazon OpenSearch Service domain, the AWS credential chain;
// OPENSEARCH_CA_CERT and OPENSEARCH_INSECURE_SKIP_VERIFY set up TLS. The
// suite creates indices named vigil-live-<time>-* and deletes them. Fault
// tests go through an in-process proxy, except with SigV4, whose signatures
// do not survive a proxy. OpenSearch Serverless is not supported by the
// suite (it has no _refresh and no custom _id on time-series collections).
func TestLive(t *testing.T) {
	raw := os.Getenv("OPENSEARCH_URL")
	if raw == "" {
		t.Fatal("the live suite needs OPENSEARCH_URL (e.g. https://admin:pass@localhost:9200)")
	}
	conn := opensearch.FromEnv(raw, os.Getenv)
	if err := conn.Validate(); err != nil {
		t.Fatal(err)
	}
	if conn.Serverless() {
		t.Fatal("the live suite does not support OpenSearch Serverless collections")
	}
	tg := suiteTarget{conn: conn, prefix: fmt.Sprintf("vigil-live-%d", time.Now().Unix())}
	if !conn.SigV4() {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: conn.InsecureSkipVerify} //nolint:gosec // only when asked for
		if conn.CACertFile != "" {
			pem, err := os.ReadFile(conn.CACertFile)
			if err != nil {
				t.Fatal(err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				t.Fatalf("no certificate in %s", conn.CACertFile)
			}
		}
		tg.proxy = func(t *testing.T, f opensearchtest.Faults) string {
			return opensearchtest.NewProxy(t, conn.URL, uint64(time.Now().UnixNano()), f, tc).URL()
		}
	}
	runSuite(t, tg)
}
