package vpcflowlogs_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/vpcflowlogs"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

const key = "AWSLogs/123456789012/vpcflowlogs/ap-northeast-1/2024/01/02/123456789012_vpcflowlogs_ap-northeast-1_fl-0abc_20240102T0305Z_def.log.gz"

var defaultHeader = strings.Fields("version account_id interface_id srcaddr dstaddr srcport dstport protocol packets bytes start end action log_status")

// record turns a default-format flow log line into the JSON object the
// CSV parser produces for it (every value a string).
func record(t *testing.T, line string) []byte {
	t.Helper()
	vals := strings.Fields(line)
	if len(vals) != len(defaultHeader) {
		t.Fatalf("line has %d fields", len(vals))
	}
	var b []byte
	b = append(b, '{')
	for i, h := range defaultHeader {
		if i > 0 {
			b = append(b, ',')
		}
		b = normalize.AppendQuoted(b, h)
		b = append(b, ':')
		b = normalize.AppendQuoted(b, vals[i])
	}
	return append(b, '}')
}

func normalizeLine(t *testing.T, line string, raw []byte) (map[string]any, normalize.Meta) {
	t.Helper()
	return testutil.Normalize(t, "vpcflowlogs", vpcflowlogs.Script{}, event.Origin{Bucket: "flow-bucket", Key: key}, string(raw), line)
}

var (
	get    = testutil.Get
	absent = testutil.Absent
)

func TestTransform(t *testing.T) {
	tests := []struct {
		name string
		line string
		raw  string // when set, used instead of the parsed line
		want map[string]any
	}{
		{
			name: "accepted tcp",
			line: "2 123456789012 eni-0a1b2c3d 10.0.0.5 198.51.100.7 49152 443 6 10 840 1704164645 1704164705 ACCEPT OK",
			want: map[string]any{
				"event.outcome": "success", "event.action": "ACCEPT", "network.transport": "tcp",
				"network.iana_number": "6",
				"source.port":         json.Number("49152"), "destination.port": json.Number("443"),
				"network.bytes": json.Number("840"), "source.bytes": json.Number("840"),
				"network.packets": json.Number("10"), "source.packets": json.Number("10"),
				"source.ip": "10.0.0.5", "destination.ip": "198.51.100.7",
				"cloud.account.id": "123456789012", "cloud.region": "ap-northeast-1",
				"@timestamp": "2024-01-02T03:05:05+00:00",
			},
		},
		{
			name: "rejected udp",
			line: "2 123456789012 eni-0a1b2c3d 203.0.113.9 10.0.0.5 5353 53 17 1 76 1704164645 1704164705 REJECT OK",
			want: map[string]any{"event.outcome": "failure", "network.transport": "udp",
				"source.port": json.Number("5353"), "destination.port": json.Number("53"), "network.bytes": json.Number("76")},
		},
		{
			name: "ipv6-icmp",
			line: "2 123456789012 eni-0a1b2c3d 2001:db8::1 2001:db8::2 0 0 58 3 216 1704164645 1704164705 ACCEPT OK",
			want: map[string]any{"network.transport": "ipv6-icmp", "source.ip": "2001:db8::1",
				"source.port": json.Number("0"), "destination.port": json.Number("0")},
		},
		{
			name: "icmp",
			line: "2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.0.6 0 0 1 3 216 1704164645 1704164705 ACCEPT OK",
			want: map[string]any{"network.transport": "icmp"},
		},
		{
			name: "unknown protocol number has no transport",
			line: "2 123456789012 eni-0a1b2c3d 10.0.0.5 10.0.0.6 0 0 250 3 216 1704164645 1704164705 ACCEPT OK",
			want: map[string]any{"network.transport": absent, "network.iana_number": "250"},
		},
		{
			name: "NODATA has an unknown outcome and no empty fields",
			line: "2 123456789012 eni-0a1b2c3d - - - - - - - 1704164645 1704164705 - NODATA",
			want: map[string]any{
				"event.outcome": "unknown", "log_status": "NODATA",
				"event.action": absent, "network.transport": absent, "source.port": absent,
				"source.ip": absent, "destination.port": absent, "network.bytes": absent,
				"srcaddr": absent, "action": absent,
			},
		},
		{
			name: "SKIPDATA",
			line: "2 123456789012 eni-0a1b2c3d - - - - - - - 1704164645 1704164705 - SKIPDATA",
			want: map[string]any{"event.outcome": "unknown", "log_status": "SKIPDATA"},
		},
		{
			name: "transit gateway flow logs",
			line: "tgw",
			raw: `{"version":"6","resource_type":"TransitGateway","account_id":"123456789012","srcaddr":"10.0.0.5","dstaddr":"10.1.0.5",
				"srcport":"1024","dstport":"80","protocol":"6","packets":"1","bytes":"60","start":"1704164645","end":"1704164705","type":"IPv4"}`,
			want: map[string]any{"@log_type": "transit-gateway", "network.transport": "tcp", "network.type": "ipv4",
				"event.outcome": absent},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			if tc.raw == "" {
				raw = record(t, tc.line)
			}
			doc, meta := normalizeLine(t, tc.line, raw)
			if meta.Index != "log-aws-vpcflowlogs-2024-01" {
				t.Errorf("Index = %q", meta.Index)
			}
			if got, _ := get(doc, "@message"); got != tc.line {
				t.Errorf("@message = %#v, want the line", got)
			}
			testutil.CheckFields(t, doc, tc.want)
		})
	}
}
