package route53resolver_test

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/route53resolver"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

const key = "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0abc/2024/01/02/123456789012_vpcdnsquerylogs_vpc-0abc_20240102T0305Z_1a2b3c4d.log.gz"

func TestTransform(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want map[string]any
	}{
		{
			name: "trailing dots are trimmed",
			rec: `{"version":"1.100000","account_id":"123456789012","region":"us-east-1","vpc_id":"vpc-0abc",
				"query_timestamp":"2024-01-02T03:04:05Z","query_name":"www.example.com.","query_type":"CNAME","query_class":"IN",
				"rcode":"NOERROR","answers":[{"Rdata":"web.example.net.","Type":"CNAME","Class":"IN"}],
				"srcaddr":"10.0.1.23","srcport":"53211","transport":"UDP","srcids":{"instance":"i-0123456789abcdef0"}}`,
			want: map[string]any{
				"dns.question.name": "www.example.com", "dns.answers.data": "web.example.net",
				"query_name": "www.example.com.", "source.ip": "10.0.1.23", "dns.response_code": "NOERROR",
				"cloud.instance.id": "i-0123456789abcdef0",
			},
		},
		{
			name: "no answer",
			rec: `{"version":"1.100000","account_id":"123456789012","region":"us-east-1","vpc_id":"vpc-0abc",
				"query_timestamp":"2024-01-02T03:04:05Z","query_name":"missing.example.com.","query_type":"A","query_class":"IN",
				"rcode":"NXDOMAIN","answers":[],"srcaddr":"10.0.1.23","srcport":"53211","transport":"UDP","srcids":{}}`,
			want: map[string]any{"dns.question.name": "missing.example.com", "dns.answers": testutil.Absent, "cloud.instance.id": testutil.Absent},
		},
		{
			name: "IP answer and a name without a dot",
			rec: `{"query_timestamp":"2024-01-02T03:04:05Z","query_name":"localhost","query_type":"A",
				"rcode":"NOERROR","answers":[{"Rdata":"127.0.0.1","Type":"A","Class":"IN"}],"srcaddr":"10.0.1.23"}`,
			want: map[string]any{"dns.question.name": "localhost", "dns.answers.data": "127.0.0.1"},
		},
		{
			name: "the mapped instance wins",
			rec: `{"query_timestamp":"2024-01-02T03:04:05Z","query_name":"a.example.","srcaddr":"10.0.1.23",
				"instance":"i-11111111","srcids":{"instance":"i-22222222"}}`,
			want: map[string]any{"cloud.instance.id": "i-11111111"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, _ := testutil.Normalize(t, "route53resolver", route53resolver.Script{}, event.Origin{Bucket: "b", Key: key}, tc.rec, "")
			testutil.CheckFields(t, doc, tc.want)
		})
	}
}

var _ normalize.PathsScript = route53resolver.Script{}
