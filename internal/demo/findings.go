package demo

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// gdFinding is a GuardDuty finding: what it is about and the times GuardDuty
// exported a version of it (the first when raised, then one per export
// period while the activity goes on).
type gdFinding struct {
	id, typ  string
	severity float64
	account  *account
	region   string
	title    string
	desc     string
	host     *host  // the instance, for EC2 findings
	key      keyRef // the access key, for IAM findings
	bucket   string // the bucket, for S3 findings
	remote   remoteRef
	// action is "NETWORK_CONNECTION", "PORT_PROBE", "AWS_API_CALL" or
	// "DNS_REQUEST".
	action    string
	direction string // for NETWORK_CONNECTION: "INBOUND" or "OUTBOUND"
	localPort int
	api       string // for AWS_API_CALL
	service   string // for AWS_API_CALL: the called service
	domain    string // for DNS_REQUEST
	agent     string // for AWS_API_CALL
	// first and last bound the activity; versions are the export times
	// with the event count GuardDuty had seen by then.
	first, last time.Time
	versions    []gdVersion
}

type gdVersion struct {
	at    time.Time
	count int
	// remote, when set, is the latest remote address (port probes from
	// many sources).
	remote *remoteRef
}

// keyRef names the IAM principal of an IAM finding.
type keyRef struct{ accessKey, principalID, userName, userType string }

// remoteRef is the remote side of a finding and where it is.
type remoteRef struct {
	ip  string
	net network
}

// exportPeriod is how often GuardDuty exports updated findings (its
// default).
const exportPeriod = 6 * time.Hour

// version computes the exported versions of a finding whose events happen
// at rate per hour between first and last.
func (f *gdFinding) version(perHour float64) {
	f.versions = append(f.versions, gdVersion{at: f.first.Add(5 * time.Minute), count: 1})
	for t := f.first.Truncate(exportPeriod).Add(exportPeriod); ; t = t.Add(exportPeriod) {
		// An export carries the finding only when it saw new events.
		prev := f.versions[len(f.versions)-1]
		seen := math.Min(t.Sub(f.first).Hours(), f.last.Sub(f.first).Hours())
		if count := 1 + int(seen*perHour); t.After(prev.at) && count > prev.count {
			f.versions = append(f.versions, gdVersion{at: t, count: count})
		}
		if !t.Before(f.last) {
			return
		}
	}
}

// gdFindings are the story's findings, in the order GuardDuty raised them.
func (s *story) gdFindings(w *world) []*gdFinding {
	r := newRNG(w.seed, "story/guardduty")
	a, h := s.account, s.target
	remote := remoteRef{s.attacker, s.net}
	role := a.principalNamed(h.role)
	key := keyRef{accessKey: s.accessKey, principalID: role.principalID + ":" + h.instanceID, userName: h.role, userType: "AssumedRole"}
	mk := func(typ string, sev float64, first, last time.Time, perHour float64) *gdFinding {
		f := &gdFinding{id: r.hex(32), typ: typ, severity: sev, account: a, region: a.home, remote: remote, first: first, last: last}
		f.version(perHour)
		return f
	}
	probe := mk("Recon:EC2/PortProbeUnprotectedPort", 2, s.scanStart.Add(2*time.Minute), s.scanStart.Add(8*time.Minute), 20)
	probe.host, probe.action, probe.localPort = h, "PORT_PROBE", 22
	probe.title = "Unprotected port on EC2 instance " + h.instanceID + " is being probed."
	probe.desc = "EC2 instance " + h.instanceID + " has an unprotected port which is being probed by a known malicious host."

	brute := mk("UnauthorizedAccess:EC2/SSHBruteForce", 2, s.bruteStart, s.loginAt, float64(len(s.attempts))/s.loginAt.Sub(s.bruteStart).Hours())
	brute.host, brute.action, brute.direction, brute.localPort = h, "NETWORK_CONNECTION", "INBOUND", 22
	brute.title = s.attacker + " is performing SSH brute force attacks against " + h.instanceID + "."
	brute.desc = s.attacker + " is performing SSH brute force attacks against " + h.instanceID + ". Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password."

	api := func(typ string, sev float64, at time.Duration, until time.Duration, call, service string) *gdFinding {
		f := mk(typ, sev, s.cloudStart.Add(at), s.cloudStart.Add(until), 6)
		f.key, f.action, f.api, f.service, f.agent = key, "AWS_API_CALL", call, service, agentAttacker
		return f
	}
	kali := api("PenTest:IAMUser/KaliLinux", 5, 0, 35*time.Minute, "GetCallerIdentity", "sts.amazonaws.com")
	kali.title = "API GetCallerIdentity was invoked from a Kali Linux computer."
	kali.desc = "API GetCallerIdentity was invoked from a Kali Linux computer under unusual circumstances. Kali Linux is a popular penetration testing tool that can be used to compromise AWS accounts."
	exfil := api("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", 8, 90*time.Second, 35*time.Minute, "ListBuckets", "s3.amazonaws.com")
	exfil.title = "Credentials for instance role " + h.role + " used from external IP address."
	exfil.desc = "Credentials created exclusively for an EC2 instance using instance role " + h.role + " have been used from external IP address " + s.attacker + "."
	persist := api("Persistence:IAMUser/AnomalousBehavior", 5, 23*time.Minute, 23*time.Minute, "CreateAccessKey", "iam.amazonaws.com")
	persist.title = "The user " + h.role + " called CreateAccessKey, an API commonly used to maintain access, in an anomalous way."
	persist.desc = "APIs commonly used in persistence tactics were invoked by user AssumedRole : " + h.role + ", under anomalous circumstances. Such activity is not typically seen from this user."
	stealth := api("Stealth:IAMUser/CloudTrailLoggingDisabled", 2, 35*time.Minute, 35*time.Minute, "StopLogging", "cloudtrail.amazonaws.com")
	stealth.title = "AWS CloudTrail trail " + a.trail + " was disabled."
	stealth.desc = "AWS CloudTrail trail " + a.trail + " was disabled by " + h.role + " calling StopLogging under unusual circumstances. This can be attackers attempt to cover their tracks by eliminating any trace of activity performed while they accessed your account."
	return []*gdFinding{probe, brute, kali, exfil, persist, stealth}
}

// backgroundFindings are the findings of ordinary internet noise and of a
// few other incidents.
func (w *world) backgroundFindings() []*gdFinding {
	r := newRNG(w.seed, "guardduty")
	scanners := weightedNets(netScanners)
	var out []*gdFinding
	for i, a := range w.accounts {
		ssh := a.hostByName("bastion")
		if ssh == nil {
			ssh = a.hostsOf(kindDev)[0]
		}
		// A port probe finding that lasts all week, updated with the latest source.
		probe := &gdFinding{id: r.hex(32), typ: "Recon:EC2/PortProbeUnprotectedPort", severity: 2, account: a, region: a.home,
			host: ssh, action: "PORT_PROBE", localPort: 22, first: w.start.Add(time.Duration(r.IntN(7200)) * time.Second), last: w.end}
		probe.title = "Unprotected port on EC2 instance " + ssh.instanceID + " is being probed."
		probe.desc = "EC2 instance " + ssh.instanceID + " has an unprotected port which is being probed by a known malicious host."
		probe.version(8 * w.scale)
		for j := range probe.versions {
			n := scanners.pick(r)
			probe.versions[j].remote = &remoteRef{r.ipIn(n.prefix), n}
		}
		probe.remote = *probe.versions[0].remote
		out = append(out, probe)
		// SSH password guessing from a few sources during the week.
		n := int(math.Round(float64(5-2*min(i, 1)) * math.Max(w.scale, 0.4)))
		for range n {
			src := scanners.pick(r)
			first := r.at(w.start, w.end.Add(-3*time.Hour))
			f := &gdFinding{id: r.hex(32), typ: "UnauthorizedAccess:EC2/SSHBruteForce", severity: 2, account: a, region: a.home,
				host: ssh, action: "NETWORK_CONNECTION", direction: "INBOUND", localPort: 22,
				remote: remoteRef{r.ipIn(src.prefix), src}, first: first, last: first.Add(time.Duration(20+r.IntN(200)) * time.Minute)}
			f.title = f.remote.ip + " is performing SSH brute force attacks against " + ssh.instanceID + "."
			f.desc = f.title + " Brute force attacks are used to gain unauthorized access to your instance by guessing the SSH password."
			f.version(300)
			out = append(out, f)
		}
	}
	prod := w.accounts[0]
	// The root user signed in to the console once.
	rootAt := w.rootSignIn()
	root := &gdFinding{id: r.hex(32), typ: "Policy:IAMUser/RootCredentialUsage", severity: 2, account: prod, region: "us-east-1",
		key:    keyRef{accessKey: "ASIA" + r.str(16, keyChars), principalID: prod.id, userName: "Root", userType: "Root"},
		action: "AWS_API_CALL", api: "ConsoleLogin", service: "signin.amazonaws.com", agent: agentsConsole[0],
		remote: remoteRef{w.rootIP(), netOfficeUS}, first: rootAt, last: rootAt.Add(12 * time.Minute)}
	root.title = "API ConsoleLogin was invoked using root credentials."
	root.desc = "API ConsoleLogin was invoked using root credentials from IP address " + root.remote.ip + "."
	root.version(4)
	out = append(out, root)
	if len(w.accounts) > 1 {
		dev := w.accounts[1]
		box := dev.hostsOf(kindDev)[0]
		first := w.start.Add(time.Duration(30+r.IntN(24)) * time.Hour)
		miner := &gdFinding{id: r.hex(32), typ: "CryptoCurrency:EC2/BitcoinTool.B!DNS", severity: 8, account: dev, region: dev.home,
			host: box, action: "DNS_REQUEST", domain: minerDomain, first: first, last: first.Add(9 * time.Hour)}
		miner.title = "EC2 instance " + box.instanceID + " is querying a domain name that is associated with Bitcoin-related activity."
		miner.desc = "EC2 instance " + box.instanceID + " is querying a domain name " + minerDomain + " that is associated with Bitcoin-related activity. This is possibly a crypto mining operation on your instance."
		miner.version(12)
		out = append(out, miner)
		bob := dev.principalNamed("bob")
		at := w.start.Add(time.Duration(50+r.IntN(40)) * time.Hour)
		pab := &gdFinding{id: r.hex(32), typ: "Policy:S3/BucketBlockPublicAccessDisabled", severity: 2, account: dev, region: dev.home,
			bucket: dev.buckets[0], key: keyRef{accessKey: bob.accessKey, principalID: bob.principalID, userName: "bob", userType: "IAMUser"},
			action: "AWS_API_CALL", api: "PutBucketPublicAccessBlock", service: "s3.amazonaws.com", agent: agentsCLI[1],
			remote: remoteRef{bob.ip(r, at), netHomeDE}, first: at, last: at}
		pab.title = "Amazon S3 Block Public Access was disabled for S3 bucket " + pab.bucket + "."
		pab.desc = "Amazon S3 Block Public Access was disabled for S3 bucket " + pab.bucket + " by bob calling PutBucketPublicAccessBlock. If this behavior is not expected, it may indicate a configuration mistake or that your credentials are compromised."
		pab.version(1)
		out = append(out, pab)
	}
	return out
}

// minerDomain is the mining pool the development box resolves.
const minerDomain = "xmr-pool.example.net"

// rootSignIn is when the production root user signs in, and rootIP from
// where.
func (w *world) rootSignIn() time.Time {
	r := newRNG(w.seed, "root")
	d := w.start.Add(time.Duration(26+r.IntN(20)) * time.Hour).Truncate(24 * time.Hour)
	return d.Add(17*time.Hour + time.Duration(r.IntN(3600))*time.Second)
}

func (w *world) rootIP() string { return newRNG(w.seed, "root-ip").ipIn(netOfficeUS.prefix) }

// gdTime formats a GuardDuty time stamp.
func gdTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// remoteDetails is a finding's remoteIpDetails.
func remoteDetails(rr remoteRef) map[string]any {
	n := rr.net
	return map[string]any{
		"ipAddressV4":  rr.ip,
		"organization": map[string]any{"asn": strconv.Itoa(n.asn), "asnOrg": n.org, "isp": n.org, "org": n.org},
		"country":      map[string]any{"countryCode": n.country, "countryName": n.name},
		"city":         map[string]any{"cityName": n.city},
		"geoLocation":  map[string]any{"lat": n.lat, "lon": n.lon},
	}
}

var portNames = map[int]string{22: "SSH", 80: "HTTP", 443: "HTTPS", 3389: "RDP"}

func portName(p int) string {
	if n, ok := portNames[p]; ok {
		return n
	}
	return "Unknown"
}

// record renders one exported version of a finding.
func (f *gdFinding) record(v gdVersion) map[string]any {
	a := f.account
	remote := f.remote
	if v.remote != nil {
		remote = *v.remote
	}
	arn := fmt.Sprintf("arn:aws:guardduty:%s:%s:detector/%s/finding/%s", f.region, a.id, a.detector[f.region], f.id)
	var resource map[string]any
	switch {
	case f.host != nil:
		h := f.host
		iface := map[string]any{
			"networkInterfaceId": h.eni, "privateIpAddress": h.privateIP,
			"privateDnsName":     h.hostname() + "." + f.region + ".compute.internal",
			"privateIpAddresses": []any{map[string]any{"privateIpAddress": h.privateIP, "privateDnsName": h.hostname() + "." + f.region + ".compute.internal"}},
			"securityGroups":     []any{map[string]any{"groupId": h.sg, "groupName": h.name + "-sg"}},
			"subnetId":           h.subnet, "vpcId": a.vpc.id, "ipv6Addresses": []any{},
		}
		if h.publicIP != "" {
			iface["publicIp"] = h.publicIP
			iface["publicDnsName"] = publicDNS(h.publicIP, f.region)
		}
		resource = map[string]any{"resourceType": "Instance", "instanceDetails": map[string]any{
			"instanceId": h.instanceID, "instanceType": h.instanceType, "instanceState": "running",
			"availabilityZone": h.az, "imageId": h.ami, "imageDescription": "Amazon Linux 2023 AMI 2023.5.20240701.0 x86_64 HVM kernel-6.1",
			"launchTime":         gdTime(f.first.Add(-31 * 24 * time.Hour).Truncate(time.Hour)),
			"iamInstanceProfile": map[string]any{"arn": "arn:aws:iam::" + a.id + ":instance-profile/" + h.role, "id": "AIPA" + strings.ToUpper(f.id[:17])},
			"networkInterfaces":  []any{iface}, "productCodes": []any{}, "platform": nil, "outpostArn": nil,
			"tags": []any{map[string]any{"key": "Name", "value": h.name}, map[string]any{"key": "env", "value": a.name}},
		}}
	case f.bucket != "":
		resource = map[string]any{"resourceType": "S3Bucket", "accessKeyDetails": f.key.details(),
			"s3BucketDetails": []any{map[string]any{"name": f.bucket, "arn": "arn:aws:s3:::" + f.bucket, "type": "Destination",
				"createdAt":                   gdTime(f.first.Add(-90 * 24 * time.Hour).Truncate(24 * time.Hour)),
				"owner":                       map[string]any{"id": strings.Repeat(f.id[:16], 4)},
				"defaultServerSideEncryption": map[string]any{"encryptionType": "AES256"},
				"publicAccess": map[string]any{"effectivePermission": "NOT_PUBLIC", "permissionConfiguration": map[string]any{
					"bucketLevelPermissions": map[string]any{"blockPublicAccess": map[string]any{"ignorePublicAcls": false, "restrictPublicBuckets": false, "blockPublicAcls": false, "blockPublicPolicy": false}}}}}}}
	default:
		resource = map[string]any{"resourceType": "AccessKey", "accessKeyDetails": f.key.details()}
	}
	action := map[string]any{"actionType": f.action}
	localIP := ""
	if f.host != nil {
		localIP = f.host.privateIP
	}
	switch f.action {
	case "PORT_PROBE":
		action["portProbeAction"] = map[string]any{"blocked": false, "portProbeDetails": []any{map[string]any{
			"localPortDetails": map[string]any{"port": f.localPort, "portName": portName(f.localPort)},
			"localIpDetails":   map[string]any{"ipAddressV4": localIP},
			"remoteIpDetails":  remoteDetails(remote)}}}
	case "NETWORK_CONNECTION":
		action["networkConnectionAction"] = map[string]any{
			"connectionDirection": f.direction, "protocol": "TCP", "blocked": false,
			"remoteIpDetails":   remoteDetails(remote),
			"remotePortDetails": map[string]any{"port": 32768 + int(f.id[0])*100, "portName": "Unknown"},
			"localPortDetails":  map[string]any{"port": f.localPort, "portName": portName(f.localPort)},
			"localIpDetails":    map[string]any{"ipAddressV4": localIP}}
	case "AWS_API_CALL":
		action["awsApiCallAction"] = map[string]any{
			"api": f.api, "serviceName": f.service, "callerType": "Remote IP",
			"remoteIpDetails": remoteDetails(remote), "affectedResources": map[string]any{},
			"userAgent": map[string]any{"fullUserAgent": f.agent, "userAgent": strings.Fields(f.agent)[0]}}
	case "DNS_REQUEST":
		action["dnsRequestAction"] = map[string]any{"domain": f.domain, "protocol": "UDP", "blocked": false, "domainWithSuffix": f.domain}
	}
	role := "TARGET"
	if f.action == "DNS_REQUEST" || f.action == "AWS_API_CALL" {
		role = "ACTOR"
	}
	last := v.at.Add(-4 * time.Minute)
	if last.After(f.last) {
		last = f.last
	}
	if last.Before(f.first) {
		last = f.first
	}
	return map[string]any{
		"schemaVersion": "2.0", "accountId": a.id, "region": f.region, "partition": "aws",
		"id": f.id, "arn": arn, "type": f.typ, "resource": resource,
		"service": map[string]any{
			"serviceName": "guardduty", "detectorId": a.detector[f.region], "action": action, "resourceRole": role,
			"additionalInfo": map[string]any{"value": "{}", "type": "default"},
			"eventFirstSeen": gdTime(f.first), "eventLastSeen": gdTime(last),
			"archived": false, "count": v.count,
		},
		"severity": f.severity, "createdAt": gdTime(f.versions[0].at), "updatedAt": gdTime(v.at),
		"title": f.title, "description": f.desc,
	}
}

func (k keyRef) details() map[string]any {
	return map[string]any{"accessKeyId": k.accessKey, "principalId": k.principalID, "userName": k.userName, "userType": k.userType}
}

// genFindings writes GuardDuty's exported findings and the Security Hub
// findings (GuardDuty's, Security Hub's own controls, Inspector's and IAM
// Access Analyzer's).
func genFindings(w *world, out *output) error {
	all := append(w.backgroundFindings(), w.story.findings...)
	type version struct {
		f *gdFinding
		v gdVersion
	}
	var versions []version
	for _, f := range all {
		for _, v := range f.versions {
			if v.at.After(w.end) || v.at.Before(w.start) {
				continue
			}
			versions = append(versions, version{f, v})
		}
	}
	sort.SliceStable(versions, func(i, j int) bool { return versions[i].v.at.Before(versions[j].v.at) })

	r := newRNG(w.seed, "guardduty/files")
	type fileKey struct {
		account, region string
		hour            time.Time
	}
	var gdKeys []fileKey
	gdFiles := map[fileKey][]byte{}
	gdCount := map[fileKey]int{}
	var sh []shFinding
	for _, x := range versions {
		rec := x.f.record(x.v)
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encoding GuardDuty finding %s: %w", x.f.id, err)
		}
		k := fileKey{x.f.account.id, x.f.region, x.v.at.Truncate(time.Hour)}
		if gdFiles[k] == nil {
			gdKeys = append(gdKeys, k)
		}
		gdFiles[k] = append(append(gdFiles[k], line...), '\n')
		gdCount[k]++
		sh = append(sh, shFromGuardDuty(x.f, x.v, rec))
	}
	for _, k := range gdKeys {
		key := fmt.Sprintf("AWSLogs/%s/GuardDuty/%s/%s/%s.jsonl.gz", k.account, k.region, k.hour.Format("2006/01/02"), r.uuid())
		if err := out.write(TypeGuardDuty, key, gdFiles[k], gdCount[k]); err != nil {
			return err
		}
	}
	sh = append(sh, w.controlFindings()...)
	return writeSecurityHub(w, out, sh)
}

// publicDNS is the public DNS name EC2 gives an address.
func publicDNS(ip, region string) string {
	if region == "us-east-1" {
		return "ec2-" + strings.ReplaceAll(ip, ".", "-") + ".compute-1.amazonaws.com"
	}
	return "ec2-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.amazonaws.com"
}
