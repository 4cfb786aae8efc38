//go:build cgo

package duckdb

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// docGen makes realistic documents, shaped like the pipeline's output for
// CloudTrail, VPC flow logs, GuardDuty, Security Hub, Route 53 Resolver and
// Linux auth logs, with skewed value distributions (a few event names,
// talkers and countries dominate) and increasing timestamps. Flows inside
// the VPC repeat a fixed set of conversations (client, server and port,
// the popular ones far more often), as a network's instances keep talking
// to the same databases, endpoints and peers; flows from the internet come
// from many addresses and reach the few internet-facing hosts.
type docGen struct {
	r     *rand.Rand
	ts    int64 // current @timestamp, epoch ms
	step  int64 // mean gap between documents, ms
	seq   uint64
	buf   []byte
	msg   []byte
	users []string
	pubIP []string
	geo   []geoInfo
	convs []conversation // flows inside the VPC
	edge  []string       // the hosts the internet reaches
}

// conversation is a client, a server and the server's port.
type conversation struct {
	src, dst string
	port     int
}

type geoInfo struct {
	iso, country, city string
	asn                int
	org                string
	lat, lon           float64
}

var (
	genRegions    = []string{"us-east-1", "us-east-1", "us-east-1", "us-west-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "sa-east-1", "ca-central-1", "eu-north-1", "ap-south-1", "us-east-2"}
	genAccounts   = []string{"123456789012", "210987654321", "111122223333", "444455556666"}
	genServices   = []string{"ec2.amazonaws.com", "s3.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com", "logs.amazonaws.com", "lambda.amazonaws.com", "kms.amazonaws.com", "cloudtrail.amazonaws.com", "signin.amazonaws.com", "rds.amazonaws.com", "dynamodb.amazonaws.com", "ssm.amazonaws.com", "secretsmanager.amazonaws.com", "elasticloadbalancing.amazonaws.com", "autoscaling.amazonaws.com", "config.amazonaws.com", "guardduty.amazonaws.com", "securityhub.amazonaws.com", "organizations.amazonaws.com", "route53.amazonaws.com"}
	genVerbs      = []string{"Describe", "Get", "List", "Describe", "Get", "List", "Create", "Delete", "Put", "Update", "Assume", "Attach", "Start", "Stop", "Modify"}
	genNouns      = []string{"Instances", "Bucket", "Role", "Policy", "LogStream", "Function", "Key", "Trail", "Volumes", "SecurityGroups", "Table", "Parameter", "Secret", "LoadBalancers", "Snapshots", "User", "AccessKey", "Findings", "Detector", "Events"}
	genErrors     = []string{"AccessDenied", "UnauthorizedOperation", "ThrottlingException", "ResourceNotFoundException", "NoSuchBucket", "InvalidParameterValue"}
	genAgents     = []string{"aws-cli/2.15.10 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/s3.ls", "Boto3/1.28.57 Python/3.11.6 Linux/4.14.255 exec-env/AWS_Lambda_python3.11 Botocore/1.31.57", "console.amazonaws.com", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0", "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.141.0"}
	genGDTypes    = []string{"Recon:EC2/PortProbeUnprotectedPort", "UnauthorizedAccess:EC2/SSHBruteForce", "Backdoor:EC2/C&CActivity.B", "CryptoCurrency:EC2/BitcoinTool.B!DNS", "Trojan:EC2/DNSDataExfiltration", "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "Recon:IAMUser/MaliciousIPCaller", "Policy:S3/BucketBlockPublicAccessDisabled"}
	genSHTitles   = []string{"S3 general purpose buckets should block public access", "Security groups should not allow ingress from 0.0.0.0/0 to port 22", "IAM root user access key should not exist", "CloudTrail should be enabled and configured with at least one multi-Region trail", "EBS default encryption should be enabled", "MFA should be enabled for all IAM users", "RDS DB instances should prohibit public access"}
	genSHSev      = []string{"INFORMATIONAL", "LOW", "MEDIUM", "MEDIUM", "HIGH", "CRITICAL"}
	genDomains    = []string{"s3.amazonaws.com", "ec2.us-east-1.amazonaws.com", "www.example.com", "api.github.com", "updates.example.net", "time.aws.com", "ssm.us-east-1.amazonaws.com", "login.microsoftonline.com", "xmr.pool.example.org", "cdn.example.io", "metadata.google.internal", "a1b2c3.exfil.example.biz"}
	genDNSTypes   = []string{"A", "A", "A", "AAAA", "CNAME", "TXT", "PTR"}
	genDNSRcodes  = []string{"NOERROR", "NOERROR", "NOERROR", "NOERROR", "NXDOMAIN", "SERVFAIL"}
	genSSHUsers   = []string{"ec2-user", "root", "admin", "ubuntu", "test", "oracle", "postgres", "git", "user", "deploy"}
	genPorts      = []int{443, 443, 443, 80, 22, 53, 3389, 8080, 3306, 5432, 123, 6379, 9200, 25}
	genCountryISO = []struct{ iso, name, city string }{
		{"US", "United States", "Ashburn"}, {"US", "United States", "Seattle"}, {"CN", "China", "Beijing"}, {"RU", "Russia", "Moscow"},
		{"DE", "Germany", "Frankfurt am Main"}, {"NL", "Netherlands", "Amsterdam"}, {"JP", "Japan", "Tokyo"}, {"BR", "Brazil", "Sao Paulo"},
		{"IN", "India", "Mumbai"}, {"GB", "United Kingdom", "London"}, {"FR", "France", "Paris"}, {"KR", "South Korea", "Seoul"},
		{"VN", "Vietnam", "Hanoi"}, {"SG", "Singapore", "Singapore"}, {"IR", "Iran", "Tehran"}, {"UA", "Ukraine", "Kyiv"},
		{"CA", "Canada", "Toronto"}, {"AU", "Australia", "Sydney"}, {"ID", "Indonesia", "Jakarta"}, {"TR", "Turkey", "Istanbul"},
	}
	genOrgs = []string{"AMAZON-02", "GOOGLE", "MICROSOFT-CORP", "CHINANET-BACKBONE", "DIGITALOCEAN-ASN", "OVH SAS", "Hetzner Online GmbH", "VNPT Corp", "Rostelecom", "Korea Telecom"}
)

// newDocGen returns a generator whose documents start at start and are on
// average step apart.
func newDocGen(seed uint64, start time.Time, step time.Duration) *docGen {
	g := &docGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ts: start.UnixMilli(), step: step.Milliseconds()}
	if g.step < 1 {
		g.step = 1
	}
	for i := range 500 {
		g.users = append(g.users, fmt.Sprintf("user-%03d", i))
	}
	for range 20000 {
		g.pubIP = append(g.pubIP, fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(222), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254)))
	}
	for i := range 20000 {
		c := genCountryISO[g.zipf(len(genCountryISO))]
		g.geo = append(g.geo, geoInfo{iso: c.iso, country: c.name, city: c.city, asn: 1000 + i%300, org: genOrgs[i%len(genOrgs)],
			lat: float64(g.r.IntN(18000)-9000) / 100, lon: float64(g.r.IntN(36000)-18000) / 100})
	}
	servers := make([]string, 2000)
	for i := range servers {
		servers[i] = g.privIP()
	}
	for range 64 {
		g.edge = append(g.edge, g.privIP())
	}
	for range 20000 {
		g.convs = append(g.convs, conversation{src: g.privIP(), dst: servers[g.zipf(len(servers))], port: genPorts[g.zipf(len(genPorts))]})
	}
	return g
}

// zipf picks an index below n, small indexes much more often.
func (g *docGen) zipf(n int) int {
	f := g.r.Float64()
	return int(float64(n) * f * f * f)
}

// Next returns the next document; its Source is valid until the next call.
func (g *docGen) Next() store.Doc {
	g.ts += g.r.Int64N(2*g.step + 1)
	g.seq++
	p := g.r.IntN(1000)
	switch {
	case p < 560:
		return g.vpcflow()
	case p < 860:
		return g.cloudtrail()
	case p < 940:
		return g.dns()
	case p < 970:
		return g.ssh()
	case p < 990:
		return g.guardduty()
	default:
		return g.securityhub()
	}
}

// batch returns the next n documents, each with its own copy of Source.
func (g *docGen) batch(n int) []store.Doc {
	docs := make([]store.Doc, n)
	for i := range docs {
		d := g.Next()
		d.Source = append([]byte(nil), d.Source...)
		docs[i] = d
	}
	return docs
}

func (g *docGen) privIP() string {
	return fmt.Sprintf("10.0.%d.%d", g.r.IntN(32), 1+g.r.IntN(254))
}

func (g *docGen) id() string {
	return fmt.Sprintf("%016x%016x", g.seq*0x9e3779b97f4a7c15, g.r.Uint64())
}

// jw is a small JSON writer over a byte slice.
type jw struct {
	b     []byte
	comma bool
}

func (w *jw) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = strconv.AppendQuote(w.b, k)
	w.b = append(w.b, ':')
	w.comma = true
}
func (w *jw) str(k, v string) { w.key(k); w.b = strconv.AppendQuote(w.b, v) }
func (w *jw) num(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}
func (w *jw) flt(k string, v float64) { w.key(k); w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64) }
func (w *jw) boolean(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}
func (w *jw) open(k string) {
	if k != "" {
		w.key(k)
	} else if w.comma {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '{')
	w.comma = false
}
func (w *jw) close() { w.b = append(w.b, '}'); w.comma = true }
func (w *jw) strs(k string, vs ...string) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = strconv.AppendQuote(w.b, v)
	}
	w.b = append(w.b, ']')
}

func (g *docGen) head(w *jw, logType, id, msg string) {
	t := time.UnixMilli(g.ts).UTC()
	w.str("@message", msg)
	w.str("@timestamp", t.Format("2006-01-02T15:04:05.000+00:00"))
	w.str("@log_type", logType)
	w.str("@log_s3bucket", "aes-siem-123456789012-log")
	w.str("@log_s3key", "AWSLogs/123456789012/"+logType+"/"+t.Format("2006/01/02/15")+"/object.gz")
	w.str("@id", id)
	w.open("ecs")
	w.str("version", "1.10.0")
	w.close()
}

func (g *docGen) geoObj(w *jw, name, ip string) {
	gi := g.geo[g.zipf(len(g.geo))]
	w.open(name)
	w.str("address", ip)
	w.str("ip", ip)
	w.open("geo")
	w.str("country_iso_code", gi.iso)
	w.str("country_name", gi.country)
	w.str("city_name", gi.city)
	w.open("location")
	w.flt("lat", gi.lat)
	w.flt("lon", gi.lon)
	w.close()
	w.close()
	w.open("as")
	w.num("number", int64(gi.asn))
	w.open("organization")
	w.str("name", gi.org)
	w.close()
	w.close()
}

func (g *docGen) doc(id, index, logType string, w *jw) store.Doc {
	w.close()
	g.buf = w.b
	return store.Doc{ID: id, Index: index + time.UnixMilli(g.ts).UTC().Format("-2006-01"), LogType: logType, TimestampMs: g.ts, Source: g.buf}
}

func (g *docGen) vpcflow() store.Doc {
	id := g.id()
	var src, dst string
	var dport int
	public := g.r.IntN(4) == 0
	if public {
		src, dst, dport = g.pubIP[g.zipf(len(g.pubIP))], g.edge[g.r.IntN(len(g.edge))], genPorts[g.zipf(len(genPorts))]
	} else {
		c := g.convs[g.zipf(len(g.convs))]
		src, dst, dport = c.src, c.dst, c.port
	}
	sport := 1024 + g.r.IntN(64000)
	packets := 1 + g.zipf(2000)
	bytes := packets * (40 + g.r.IntN(1400))
	action := "ACCEPT"
	if public && g.r.IntN(3) == 0 || g.r.IntN(20) == 0 {
		action = "REJECT"
	}
	proto := "6"
	if dport == 53 || dport == 123 {
		proto = "17"
	}
	acct := genAccounts[g.zipf(len(genAccounts))]
	eni := fmt.Sprintf("eni-%017x", g.r.Uint64()>>4&0xfffff)
	start := g.ts/1000 - 60
	msg := fmt.Sprintf("2 %s %s %s %s %d %d %s %d %d %d %d %s OK", acct, eni, src, dst, sport, dport, proto, packets, bytes, start, g.ts/1000, action)
	w := jw{b: g.buf[:0]}
	w.open("")
	w.str("version", "2")
	w.str("account_id", acct)
	w.str("interface_id", eni)
	w.str("srcaddr", src)
	w.str("dstaddr", dst)
	w.str("srcport", strconv.Itoa(sport))
	w.str("dstport", strconv.Itoa(dport))
	w.str("protocol", proto)
	w.str("packets", strconv.Itoa(packets))
	w.str("bytes", strconv.Itoa(bytes))
	w.str("start", strconv.FormatInt(start, 10))
	w.str("end", strconv.FormatInt(g.ts/1000, 10))
	w.str("action", action)
	w.str("log_status", "OK")
	g.head(&w, "vpcflowlogs", id, msg)
	w.open("event")
	w.str("module", "vpcflowlogs")
	w.str("action", action)
	w.str("kind", "event")
	w.strs("category", "network")
	if action == "ACCEPT" {
		w.str("outcome", "success")
	} else {
		w.str("outcome", "failure")
	}
	w.close()
	w.open("cloud")
	w.str("provider", "aws")
	w.open("account")
	w.str("id", acct)
	w.close()
	w.str("region", genRegions[g.zipf(len(genRegions))])
	w.close()
	w.open("destination")
	w.str("address", dst)
	w.str("ip", dst)
	w.num("port", int64(dport))
	w.close()
	w.open("network")
	w.num("bytes", int64(bytes))
	w.str("iana_number", proto)
	w.num("packets", int64(packets))
	if proto == "6" {
		w.str("transport", "tcp")
	} else {
		w.str("transport", "udp")
	}
	w.close()
	w.open("related")
	w.strs("ip", dst, src)
	w.close()
	if public {
		g.geoObj(&w, "source", src)
	} else {
		w.open("source")
		w.str("address", src)
		w.str("ip", src)
	}
	w.num("bytes", int64(bytes))
	w.num("packets", int64(packets))
	w.num("port", int64(sport))
	w.close()
	return g.doc(id, "log-aws-vpcflowlogs", "vpcflowlogs", &w)
}

func (g *docGen) cloudtrail() store.Doc {
	id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Uint64()&(1<<48-1))
	svc := genServices[g.zipf(len(genServices))]
	name := genVerbs[g.zipf(len(genVerbs))] + genNouns[g.r.IntN(len(genNouns))]
	if svc == "signin.amazonaws.com" {
		name = "ConsoleLogin"
	}
	region := genRegions[g.zipf(len(genRegions))]
	acct := genAccounts[g.zipf(len(genAccounts))]
	user := g.users[g.zipf(len(g.users))]
	var ip string
	public := g.r.IntN(3) == 0
	if public {
		ip = g.pubIP[g.zipf(len(g.pubIP))]
	} else {
		ip = g.privIP()
	}
	agent := genAgents[g.zipf(len(genAgents))]
	errCode := ""
	if g.r.IntN(12) == 0 {
		errCode = genErrors[g.zipf(len(genErrors))]
	}
	t := time.UnixMilli(g.ts).UTC().Format("2006-01-02T15:04:05Z")
	// The raw record, which is also @message.
	r := jw{b: g.msg[:0]}
	r.open("")
	r.str("eventVersion", "1.09")
	r.open("userIdentity")
	r.str("type", "IAMUser")
	r.str("principalId", "AIDA"+strconv.Itoa(100000+len(user)*7919))
	r.str("arn", "arn:aws:iam::"+acct+":user/"+user)
	r.str("accountId", acct)
	r.str("accessKeyId", "AKIA"+strconv.FormatUint(g.r.Uint64()>>20, 36))
	r.str("userName", user)
	r.close()
	r.str("eventTime", t)
	r.str("eventSource", svc)
	r.str("eventName", name)
	r.str("awsRegion", region)
	r.str("sourceIPAddress", ip)
	r.str("userAgent", agent)
	r.open("requestParameters")
	r.str("instanceId", fmt.Sprintf("i-%017x", g.r.Uint64()>>12&0xffff))
	r.boolean("dryRun", false)
	r.close()
	if errCode != "" {
		r.str("errorCode", errCode)
		r.str("errorMessage", "User: arn:aws:iam::"+acct+":user/"+user+" is not authorized to perform: "+svc[:len(svc)-14]+":"+name)
	}
	r.str("requestID", fmt.Sprintf("%08x-%04x-%04x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<16)))
	r.str("eventID", id)
	r.boolean("readOnly", name[0] == 'D' || name[0] == 'G' || name[0] == 'L')
	r.str("eventType", "AwsApiCall")
	r.boolean("managementEvent", true)
	r.str("recipientAccountId", acct)
	r.str("eventCategory", "Management")
	r.close()
	g.msg = r.b
	raw := r.b
	w := jw{b: g.buf[:0]}
	w.b = append(w.b, raw[:len(raw)-1]...) // the record's members, then ours
	w.comma = true
	g.head(&w, "cloudtrail", id, string(raw))
	w.open("event")
	w.str("module", svc)
	w.str("action", name)
	w.str("kind", "event")
	w.strs("category", "iam")
	if errCode == "" {
		w.str("outcome", "success")
	} else {
		w.str("outcome", "failure")
	}
	w.close()
	w.open("cloud")
	w.str("provider", "aws")
	w.open("account")
	w.str("id", acct)
	w.close()
	w.str("region", region)
	w.close()
	if errCode != "" {
		w.open("error")
		w.str("code", errCode)
		w.str("message", "not authorized")
		w.close()
	}
	w.open("related")
	w.strs("ip", ip)
	w.close()
	w.open("rule")
	w.str("name", name)
	w.close()
	if public {
		g.geoObj(&w, "source", ip)
	} else {
		w.open("source")
		w.str("address", ip)
		w.str("ip", ip)
	}
	w.close()
	w.open("user")
	w.str("name", user)
	w.close()
	w.open("user_agent")
	w.str("original", agent)
	w.close()
	return g.doc(id, "log-aws-cloudtrail", "cloudtrail", &w)
}

func (g *docGen) dns() store.Doc {
	id := g.id()
	q := genDomains[g.zipf(len(genDomains))]
	qt := genDNSTypes[g.zipf(len(genDNSTypes))]
	rc := genDNSRcodes[g.zipf(len(genDNSRcodes))]
	src := g.privIP()
	vpc := fmt.Sprintf("vpc-%017x", g.zipf(40))
	inst := fmt.Sprintf("i-%017x", g.zipf(300))
	acct := genAccounts[g.zipf(len(genAccounts))]
	region := genRegions[g.zipf(len(genRegions))]
	r := jw{b: g.msg[:0]}
	r.open("")
	r.str("version", "1.100000")
	r.str("account_id", acct)
	r.str("region", region)
	r.str("vpc_id", vpc)
	r.str("query_timestamp", time.UnixMilli(g.ts).UTC().Format(time.RFC3339))
	r.str("query_name", q+".")
	r.str("query_type", qt)
	r.str("query_class", "IN")
	r.str("rcode", rc)
	r.str("srcaddr", src)
	r.num("srcport", int64(1024+g.r.IntN(60000)))
	r.str("transport", "UDP")
	r.open("srcids")
	r.str("instance", inst)
	r.close()
	r.close()
	g.msg = r.b
	raw := r.b
	w := jw{b: g.buf[:0]}
	w.b = append(w.b, raw[:len(raw)-1]...)
	w.comma = true
	g.head(&w, "route53resolver", id, string(raw))
	w.open("event")
	w.str("module", "route53resolver")
	w.str("kind", "event")
	w.strs("category", "network")
	w.close()
	w.open("cloud")
	w.str("provider", "aws")
	w.open("account")
	w.str("id", acct)
	w.close()
	w.str("region", region)
	w.open("instance")
	w.str("id", inst)
	w.close()
	w.close()
	w.open("dns")
	w.open("question")
	w.str("name", q)
	w.str("type", qt)
	w.close()
	w.str("response_code", rc)
	w.close()
	w.open("network")
	w.str("transport", "udp")
	w.str("protocol", "dns")
	w.close()
	w.open("source")
	w.str("address", src)
	w.str("ip", src)
	w.close()
	return g.doc(id, "log-aws-route53resolver", "route53resolver", &w)
}

func (g *docGen) ssh() store.Doc {
	id := g.id()
	ip := g.pubIP[g.zipf(len(g.pubIP))]
	user := genSSHUsers[g.zipf(len(genSSHUsers))]
	ok := g.r.IntN(10) == 0
	host := fmt.Sprintf("ip-10-0-%d-%d", g.zipf(32), g.zipf(250))
	pid := 1000 + g.r.IntN(60000)
	port := 1024 + g.r.IntN(60000)
	var msg string
	if ok {
		msg = fmt.Sprintf("%s %s sshd[%d]: Accepted publickey for %s from %s port %d ssh2", time.UnixMilli(g.ts).UTC().Format(time.Stamp), host, pid, user, ip, port)
	} else {
		msg = fmt.Sprintf("%s %s sshd[%d]: Failed password for invalid user %s from %s port %d ssh2", time.UnixMilli(g.ts).UTC().Format(time.Stamp), host, pid, user, ip, port)
	}
	w := jw{b: g.buf[:0]}
	w.open("")
	g.head(&w, "linux-secure", id, msg)
	w.open("event")
	w.str("module", "linux")
	w.str("action", "ssh_login")
	w.str("kind", "event")
	w.strs("category", "authentication")
	if ok {
		w.str("outcome", "success")
	} else {
		w.str("outcome", "failure")
	}
	w.close()
	w.open("host")
	w.str("hostname", host)
	w.close()
	w.open("process")
	w.str("name", "sshd")
	w.num("pid", int64(pid))
	w.close()
	g.geoObj(&w, "source", ip)
	w.num("port", int64(port))
	w.close()
	w.open("user")
	w.str("name", user)
	w.close()
	w.open("related")
	w.strs("ip", ip)
	w.strs("user", user)
	w.close()
	return g.doc(id, "log-linux-secure", "linux-secure", &w)
}

func (g *docGen) guardduty() store.Doc {
	fid := fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())
	count := 1 + g.zipf(30)
	id := fid + "_" + strconv.Itoa(count)
	typ := genGDTypes[g.zipf(len(genGDTypes))]
	sev := []float64{2, 5, 8, 8.5, 5.3}[g.zipf(5)]
	acct := genAccounts[g.zipf(len(genAccounts))]
	region := genRegions[g.zipf(len(genRegions))]
	inst := fmt.Sprintf("i-%017x", g.zipf(300))
	ip := g.pubIP[g.zipf(len(g.pubIP))]
	local := g.privIP()
	title := "EC2 instance " + inst + " is behaving in a way matching " + typ
	w := jw{b: g.buf[:0]}
	w.open("")
	w.str("schemaVersion", "2.0")
	w.str("accountId", acct)
	w.str("region", region)
	w.str("id", fid)
	w.str("type", typ)
	w.open("resource")
	w.str("resourceType", "Instance")
	w.open("instanceDetails")
	w.str("instanceId", inst)
	w.str("instanceType", "t3.micro")
	w.close()
	w.close()
	w.open("service")
	w.str("serviceName", "guardduty")
	w.num("count", int64(count))
	w.close()
	w.flt("severity", sev)
	w.str("title", title)
	w.str("description", title+". The remote address "+ip+" is on a threat list.")
	label := "low" // as the GuardDuty transform labels severities
	if sev >= 7 {
		label = "high"
	} else if sev >= 4 {
		label = "medium"
	}
	w.str("severitylabel", label)
	w.str("ThreatPurpose", typ[:strings.IndexByte(typ, ':')])
	g.head(&w, "guardduty", id, title)
	w.open("event")
	w.str("module", "guardduty")
	w.str("kind", "alert")
	w.strs("category", "intrusion_detection")
	w.flt("severity", sev)
	w.close()
	w.open("cloud")
	w.str("provider", "aws")
	w.open("account")
	w.str("id", acct)
	w.close()
	w.str("region", region)
	w.open("instance")
	w.str("id", inst)
	w.close()
	w.close()
	w.open("rule")
	w.str("id", typ)
	w.str("name", title)
	w.close()
	g.geoObj(&w, "source", ip)
	w.num("port", int64(genPorts[g.zipf(len(genPorts))]))
	w.close()
	w.open("destination")
	w.str("ip", local)
	w.close()
	w.open("related")
	w.strs("ip", local, ip)
	w.close()
	return g.doc(id, "log-aws-guardduty", "guardduty", &w)
}

func (g *docGen) securityhub() store.Doc {
	acct := genAccounts[g.zipf(len(genAccounts))]
	region := genRegions[g.zipf(len(genRegions))]
	n := g.zipf(5000)
	id := fmt.Sprintf("arn:aws:securityhub:%s:%s:subscription/aws-foundational-security-best-practices/v/1.0.0/finding/%08x", region, acct, n)
	title := genSHTitles[n%len(genSHTitles)]
	sev := genSHSev[g.zipf(len(genSHSev))]
	w := jw{b: g.buf[:0]}
	w.open("")
	w.str("SchemaVersion", "2018-10-08")
	w.str("Id", id)
	w.str("ProductArn", "arn:aws:securityhub:"+region+"::product/aws/securityhub")
	w.str("GeneratorId", "aws-foundational-security-best-practices/v/1.0.0")
	w.str("AwsAccountId", acct)
	w.str("Title", title)
	w.str("Description", title+".")
	w.open("Severity")
	w.str("Label", sev)
	w.num("Normalized", int64(10*len(sev)))
	w.close()
	w.open("Compliance")
	w.str("Status", []string{"PASSED", "FAILED"}[g.r.IntN(2)])
	w.close()
	w.open("Workflow")
	w.str("Status", []string{"NEW", "NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}[g.zipf(5)])
	w.close()
	w.open("ProductFields")
	w.str("aws/securityhub/ProductName", "Security Hub")
	w.close()
	g.head(&w, "securityhub", id, title)
	w.open("event")
	w.str("module", "securityhub")
	w.str("kind", "alert")
	w.strs("category", "configuration")
	w.num("severity", int64(10*len(sev)))
	w.close()
	w.open("cloud")
	w.str("provider", "aws")
	w.open("account")
	w.str("id", acct)
	w.close()
	w.str("region", region)
	w.close()
	w.open("rule")
	w.str("name", title)
	w.close()
	return g.doc(id, "log-aws-securityhub", "securityhub", &w)
}
