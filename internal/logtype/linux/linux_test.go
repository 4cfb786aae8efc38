package linux_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/linux"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

const (
	secureKey = "AWSLogs/123456789012/EC2/Linux/Secure/us-east-1/2024/01/02/03/secure.gz"
	syslogKey = "AWSLogs/123456789012/EC2/Linux/System/us-east-1/2024/01/02/03/messages.gz"
)

var absent = testutil.Absent

// record returns the fields log_pattern captures from a syslog line, as
// JSON, and the line itself; extra fields (such as @log_stream) are added.
func record(t *testing.T, proc, pid, msg string, extra map[string]string) (raw, line string) {
	t.Helper()
	rec := map[string]string{"syslog_timestamp": "Jan  2 03:04:05", "hostname": "ip-10-0-1-23", "proc": proc, "syslog_message": msg}
	line = "Jan  2 03:04:05 ip-10-0-1-23 " + proc
	if pid != "" {
		rec["pid"] = pid
		line += "[" + pid + "]"
	}
	line += ": " + msg
	for k, v := range extra {
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), line
}

func TestSecureTransform(t *testing.T) {
	tests := []struct {
		name  string
		proc  string
		msg   string
		extra map[string]string
		want  map[string]any
	}{
		{
			name: "failed password",
			proc: "sshd", msg: "Failed password for root from 203.0.113.7 port 51122 ssh2",
			want: map[string]any{
				"event.action": "Failed", "event.outcome": "failure", "event.category": "authentication",
				"event.module": "secure", "user.name": "root", "source.ip": "203.0.113.7",
				"source.port": json.Number("51122"), "related.ip": []any{"203.0.113.7"}, "related.user": []any{"root"},
			},
		},
		{
			name: "failed password for an invalid user",
			proc: "sshd", msg: "Failed password for invalid user oracle from 198.51.100.4 port 40022 ssh2",
			want: map[string]any{"event.action": "Failed", "user.name": "oracle", "source.ip": "198.51.100.4", "event.outcome": "failure"},
		},
		{
			name: "invalid user",
			proc: "sshd", msg: "Invalid user admin from 198.51.100.4 port 40022",
			want: map[string]any{"event.action": "Invalid user", "user.name": "admin", "event.outcome": "failure", "source.port": json.Number("40022")},
		},
		{
			name: "accepted public key",
			proc: "sshd", msg: "Accepted publickey for ec2-user from 192.0.2.10 port 60001 ssh2: RSA SHA256:abc",
			want: map[string]any{"event.action": "Accepted", "event.outcome": "success", "user.name": "ec2-user", "source.ip": "192.0.2.10"},
		},
		{
			name: "disconnection has no outcome",
			proc: "sshd", msg: "Received disconnect from 203.0.113.7 port 51122:11: Bye Bye [preauth]",
			want: map[string]any{"event.action": "Received disconnect", "event.outcome": absent, "source.ip": "203.0.113.7", "user.name": absent},
		},
		{
			name: "connection closed",
			proc: "sshd", msg: "Connection closed by 203.0.113.7 port 51122 [preauth]",
			want: map[string]any{"event.action": "Connection closed", "event.outcome": absent, "source.port": json.Number("51122")},
		},
		{
			name: "session opened",
			proc: "sshd", msg: "pam_unix(sshd:session): session opened for user ec2-user by (uid=0)",
			want: map[string]any{"event.action": "session opened", "event.outcome": "success", "user.name": absent},
		},
		{
			name: "address without an action",
			proc: "sshd", msg: "Disconnected from authenticating user root 203.0.113.7 port 51122 [preauth]",
			want: map[string]any{"source.ip": "203.0.113.7", "event.action": absent, "event.category": absent},
		},
		{
			name: "address that is not an IP is dropped",
			proc: "sshd", msg: "Failed password for root from 999.1.1.1 port 22 ssh2",
			want: map[string]any{"source.ip": absent, "user.name": "root", "related.ip": absent},
		},
		{
			name: "unmatched message keeps only the module",
			proc: "sshd", msg: "Server listening on 0.0.0.0 port 22.",
			want: map[string]any{"event.module": "secure", "event.action": absent, "user.name": absent},
		},
		{
			name: "sudo command",
			proc: "sudo", msg: "ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND=/bin/systemctl restart nginx",
			want: map[string]any{"user.name": "ec2-user", "event.action": "/bin/systemctl restart nginx", "event.outcome": "success", "event.category": absent},
		},
		{
			name: "instance id from the log stream",
			proc: "sshd", msg: "Invalid user test from 198.51.100.4 port 1", extra: map[string]string{"@log_stream": "i-0123456789abcdef0"},
			want: map[string]any{"cloud.instance.id": "i-0123456789abcdef0", "related.hosts": []any{"ip-10-0-1-23", "i-0123456789abcdef0"}},
		},
		{
			name: "other process is left alone",
			proc: "CROND", msg: "pam_unix(crond:session): session opened for user root by (uid=0)",
			want: map[string]any{"event.action": absent, "user.name": absent, "event.module": "secure"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, line := record(t, tc.proc, "2211", tc.msg, tc.extra)
			doc, meta := testutil.Normalize(t, "linux-secure", linux.SecureScript{}, event.Origin{Bucket: "b", Key: secureKey}, raw, line)
			if !strings.HasPrefix(meta.Index, linux.SecureIndex+"-") {
				t.Errorf("index = %q", meta.Index)
			}
			testutil.CheckFields(t, doc, tc.want)
		})
	}
}

func TestSyslogIndex(t *testing.T) {
	tests := []struct {
		name, proc, msg, wantIndex string
	}{
		{name: "sshd goes to the secure index", proc: "sshd", msg: "Invalid user a from 198.51.100.4 port 1", wantIndex: linux.SecureIndex},
		{name: "sudo goes to the secure index", proc: "sudo", msg: "a : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls", wantIndex: linux.SecureIndex},
		{name: "su goes to the secure index", proc: "su", msg: "(to root) a on pts/0", wantIndex: linux.SecureIndex},
		{name: "other processes stay", proc: "systemd", msg: "Started Session 1 of user a.", wantIndex: "log-linux-os"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, line := record(t, tc.proc, "1", tc.msg, nil)
			_, meta := testutil.Normalize(t, "linux-os-syslog", linux.SyslogScript{}, event.Origin{Bucket: "b", Key: syslogKey}, raw, line)
			if !strings.HasPrefix(meta.Index, tc.wantIndex+"-") {
				t.Errorf("index = %q, want %s-...", meta.Index, tc.wantIndex)
			}
		})
	}
}

// Both transforms declare the record fields they read.
var (
	_ normalize.PathsScript = linux.SecureScript{}
	_ normalize.PathsScript = linux.SyslogScript{}
)

// FuzzSecureTransform feeds arbitrary messages of sshd and sudo to the
// transforms: they must never fail or panic, and an address they keep must
// be an IP address.
func FuzzSecureTransform(f *testing.F) {
	for _, s := range []string{
		"Failed password for root from 203.0.113.7 port 51122 ssh2",
		"Invalid user admin from 198.51.100.4 port 40022",
		"Accepted publickey for ec2-user from 192.0.2.10 port 60001 ssh2: RSA SHA256:abc",
		"pam_unix(sshd:session): session opened for user ec2-user by (uid=0)",
		"ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND=/bin/ls",
		"Connection closed by 1.2.3.4 port 99999999999999999999 [preauth]",
		"reverse mapping checking getaddrinfo for x [300.1.1.1] failed",
	} {
		f.Add("sshd", s)
		f.Add("sudo", s)
	}
	f.Fuzz(func(t *testing.T, proc, msg string) {
		raw, line := record(t, proc, "1", msg, nil)
		doc, _ := testutil.Normalize(t, "linux-os-syslog", linux.SyslogScript{}, event.Origin{Bucket: "b", Key: syslogKey}, raw, line)
		if ip, ok := testutil.Get(doc, "source.ip"); ok {
			if _, err := netip.ParseAddr(ip.(string)); err != nil {
				t.Errorf("source.ip %q is not an address", ip)
			}
		}
	})
}
