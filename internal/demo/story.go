package demo

import (
	"fmt"
	"time"
)

// story is the attack, decided once so that every log type tells the same
// events at the same times.
type story struct {
	r        *rng
	account  *account
	target   *host // the instance whose SSH password is guessed
	bastion  *host
	attacker string
	net      network

	sshUser, createdUser string
	accessKey, newKey    string
	principalARN         string
	domain               string // the attacker's download host, resolved by the instance

	// sgOpened is when port 22 of the target was opened to the internet.
	sgOpened time.Time
	// The timeline.
	scanStart, bruteStart, loginAt, logoutAt, cloudStart, stopped, resumed, revoked time.Time
	// attempts are the start times of the password guessing connections.
	attempts []time.Time

	findings []*gdFinding
}

func newStory(seed int64, w *world) *story {
	r := newRNG(seed, "story")
	a := w.accounts[0]
	s := &story{
		r: r, account: a, target: a.hostByName("build-01"), bastion: a.hostByName("bastion"),
		net: netAttacker, attacker: r.ipIn(netAttacker.prefix),
		sshUser: "jenkins", createdUser: "svc-backup-sync",
		accessKey: "ASIA" + r.str(16, keyChars), newKey: "AKIA" + r.str(16, keyChars),
		domain: "fastsync-cdn.example.net",
	}
	s.principalARN = "arn:aws:sts::" + a.id + ":assumed-role/" + s.target.role + "/" + s.target.instanceID
	end := w.end
	s.sgOpened = end.Add(-46*time.Hour - time.Duration(r.IntN(3600))*time.Second)
	s.scanStart = end.Add(-20*time.Hour - time.Duration(r.IntN(2400))*time.Second)
	s.bruteStart = s.scanStart.Add(9*time.Minute + time.Duration(r.IntN(60))*time.Second)
	s.loginAt = s.bruteStart.Add(78*time.Minute + time.Duration(r.IntN(120))*time.Second)
	s.cloudStart = s.loginAt.Add(22*time.Minute + time.Duration(r.IntN(60))*time.Second)
	s.stopped = s.cloudStart.Add(35 * time.Minute)
	s.resumed = s.stopped.Add(47*time.Minute + time.Duration(r.IntN(300))*time.Second)
	s.revoked = s.resumed.Add(8 * time.Minute)
	s.logoutAt = s.cloudStart.Add(61 * time.Minute)
	// Password guesses: a burst every few seconds, slowing down at times.
	for t := s.bruteStart; t.Before(s.loginAt); {
		s.attempts = append(s.attempts, t)
		t = t.Add(time.Duration(4+r.IntN(14)) * time.Second)
	}
	s.findings = s.gdFindings(w)
	return s
}

func (s *story) summary() Attack {
	a := Attack{
		AttackerIP: s.attacker, AttackerCountry: s.net.country, Account: s.account.id, Region: s.account.home,
		InstanceID: s.target.instanceID, InstanceName: s.target.name, InstancePrivateIP: s.target.privateIP,
		InstancePublicIP: s.target.publicIP, Hostname: s.target.hostname(), SSHUser: s.sshUser,
		Role: s.target.role, PrincipalARN: s.principalARN, AccessKeyID: s.accessKey,
		CreatedUser: s.createdUser, CreatedAccessKeyID: s.newKey, Trail: s.account.trail,
		ScanStart: s.scanStart, LoginAt: s.loginAt, CloudStart: s.cloudStart,
		LoggingStopped: s.stopped, LoggingResumed: s.resumed,
	}
	for _, f := range s.findings {
		a.Findings = append(a.Findings, Finding{ID: f.id, Type: f.typ, Severity: f.severity})
	}
	return a
}

// principalNamed returns the account's caller of that name.
func (a *account) principalNamed(name string) *principal {
	for _, p := range a.users {
		if p.name == name {
			return p
		}
	}
	panic("demo: no principal " + name)
}

// step is one API call of the story.
type step struct {
	after time.Duration
	c     *apiCall
	// params and resp, when set, replace the call's own.
	params, resp any
	err          string
	errMsg       string
}

// cloudTrail returns the story's CloudTrail records: the port opened to
// the internet, the attacker's calls with the stolen credentials, and the
// response.
func (s *story) cloudTrail(w *world) []ctEvent {
	r := newRNG(w.seed, "story/cloudtrail")
	a := s.account
	var out []ctEvent
	add := func(p *principal, at time.Time, st step) *ctRecord {
		rec := w.ctEvent(r, a, p, st.c, at)
		if st.params != nil {
			rec.RequestParameters = st.params
		}
		if st.resp != nil {
			rec.ResponseElements = st.resp
		}
		rec.ErrorCode, rec.ErrorMessage = "", ""
		if st.err != "" {
			rec.ResponseElements = nil
			rec.ErrorCode, rec.ErrorMessage = st.err, st.errMsg
		}
		out = append(out, ctEvent{at, a, rec})
		return rec
	}
	sgRule := func(verb string) any {
		return map[string]any{"groupId": s.target.sg, "ipPermissions": map[string]any{"items": []any{map[string]any{
			"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
			"ipRanges": map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0", "description": verb}}}}}}}
	}

	bob := a.principalNamed("bob")
	add(bob, s.sgOpened, step{c: call("ec2", "AuthorizeSecurityGroupIngress", false), params: sgRule("temporary: debug build agent")})

	stolen := *a.principalNamed(s.target.role)
	stolen.ip = func(*rng, time.Time) string { return s.attacker }
	stolen.agents = []string{agentAttacker}
	stolen.console = 0
	stolen.sessions = []string{s.target.instanceID}
	denied := func(action string) string { return fmt.Sprintf(msgIAMDenied, s.principalARN, action) }
	exports := a.buckets[2]
	steps := []step{
		{after: 0, c: call("sts", "GetCallerIdentity", true),
			resp: map[string]any{"userId": stolen.principalID + ":" + s.target.instanceID, "account": a.id, "arn": s.principalARN}},
		{after: 40 * time.Second, c: call("iam", "ListAttachedRolePolicies", true).globally(),
			params: map[string]any{"roleName": s.target.role}, err: "AccessDenied", errMsg: denied("iam:ListAttachedRolePolicies")},
		{after: 90 * time.Second, c: call("s3", "ListBuckets", true).globally()},
	}
	for i, b := range a.buckets {
		steps = append(steps, step{after: 2*time.Minute + time.Duration(i)*9*time.Second, c: call("s3", "GetBucketAcl", true),
			params: map[string]any{"bucketName": b, "acl": "", "Host": b + ".s3." + a.home + ".amazonaws.com"}})
	}
	steps = append(steps, step{after: 4 * time.Minute, c: call("s3", "ListObjects", true),
		params: map[string]any{"bucketName": exports, "list-type": "2", "prefix": "exports/daily/", "Host": exports + ".s3." + a.home + ".amazonaws.com"}})
	for i := range 35 {
		day := s.cloudStart.AddDate(0, 0, -i).Format("2006-01-02")
		steps = append(steps, step{after: 5*time.Minute + time.Duration(i)*15*time.Second, c: call("s3", "GetObject", true),
			params: map[string]any{"bucketName": exports, "key": "exports/daily/customers-" + day + ".csv.gz", "Host": exports + ".s3." + a.home + ".amazonaws.com"}})
	}
	for i, reg := range w.regions {
		steps = append(steps, step{after: 15*time.Minute + time.Duration(i)*20*time.Second, c: call("ec2", "DescribeInstances", true),
			params: map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}, "region": reg}})
	}
	userARN := "arn:aws:iam::" + a.id + ":user/" + s.createdUser
	steps = append(steps,
		step{after: 18 * time.Minute, c: call("iam", "ListUsers", true).globally()},
		step{after: 19 * time.Minute, c: call("iam", "GetAccountAuthorizationDetails", true).globally(),
			err: "AccessDenied", errMsg: denied("iam:GetAccountAuthorizationDetails")},
		step{after: 22 * time.Minute, c: call("iam", "CreateUser", false).globally(),
			params: map[string]any{"userName": s.createdUser},
			resp: map[string]any{"user": map[string]any{"path": "/", "userName": s.createdUser, "userId": "AIDA" + s.r.str(17, upperDigits),
				"arn": userARN, "createDate": s.cloudStart.Add(22 * time.Minute).Format("Jan 2, 2006, 3:04:05 PM")}}},
		step{after: 23 * time.Minute, c: call("iam", "CreateAccessKey", false).globally(),
			params: map[string]any{"userName": s.createdUser},
			resp: map[string]any{"accessKey": map[string]any{"userName": s.createdUser, "accessKeyId": s.newKey, "status": "Active",
				"createDate": s.cloudStart.Add(23 * time.Minute).Format("Jan 2, 2006, 3:04:05 PM")}}},
		step{after: 24 * time.Minute, c: call("iam", "AttachUserPolicy", false).globally(),
			params: map[string]any{"userName": s.createdUser, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
			err:    "AccessDenied", errMsg: denied("iam:AttachUserPolicy")},
		step{after: 28 * time.Minute, c: call("secretsmanager", "ListSecrets", true)},
		step{after: 29 * time.Minute, c: call("secretsmanager", "GetSecretValue", true),
			params: map[string]any{"secretId": "prod/db/password"}, err: "AccessDeniedException", errMsg: denied("secretsmanager:GetSecretValue")},
		step{after: 33 * time.Minute, c: call("cloudtrail", "DescribeTrails", true)},
		step{after: 34 * time.Minute, c: call("cloudtrail", "GetTrailStatus", true),
			params: map[string]any{"name": a.trail}},
		step{after: 35 * time.Minute, c: call("cloudtrail", "StopLogging", false),
			params: map[string]any{"name": "arn:aws:cloudtrail:" + a.home + ":" + a.id + ":trail/" + a.trail}},
	)
	for _, st := range steps {
		rec := add(&stolen, s.cloudStart.Add(st.after), st)
		rec.UserIdentity.AccessKeyID = s.accessKey
		if m, ok := rec.RequestParameters.(map[string]any); ok {
			if reg, ok := m["region"].(string); ok {
				delete(m, "region")
				rec.AWSRegion = reg
			}
			if _, ok := m["key"]; ok {
				rec.data(a, m)
			}
		}
	}

	alice := a.principalNamed("alice")
	response := []step{
		{after: 0, c: call("cloudtrail", "StartLogging", false),
			params: map[string]any{"name": "arn:aws:cloudtrail:" + a.home + ":" + a.id + ":trail/" + a.trail}},
		{after: 3 * time.Minute, c: call("iam", "ListAccessKeys", true).globally(), params: map[string]any{"userName": s.createdUser}},
		{after: 4 * time.Minute, c: call("iam", "UpdateAccessKey", false).globally(),
			params: map[string]any{"userName": s.createdUser, "accessKeyId": s.newKey, "status": "Inactive"}},
		{after: 6 * time.Minute, c: call("iam", "DeleteAccessKey", false).globally(),
			params: map[string]any{"userName": s.createdUser, "accessKeyId": s.newKey}},
		{after: 7 * time.Minute, c: call("iam", "DeleteUser", false).globally(), params: map[string]any{"userName": s.createdUser}},
		{after: 8 * time.Minute, c: call("ec2", "RevokeSecurityGroupIngress", false), params: sgRule("temporary: debug build agent")},
		{after: 10 * time.Minute, c: call("ec2", "ModifyInstanceMetadataOptions", false),
			params: map[string]any{"instanceId": s.target.instanceID, "httpTokens": "required", "httpEndpoint": "enabled"}},
		{after: 12 * time.Minute, c: call("iam", "PutRolePolicy", false).globally(),
			params: map[string]any{"roleName": s.target.role, "policyName": "AWSRevokeOlderSessions"}},
		{after: 15 * time.Minute, c: call("ec2", "CreateSnapshot", false),
			params: map[string]any{"volumeId": s.r.resourceID("vol"), "description": "forensics " + s.target.instanceID}},
	}
	for _, st := range response {
		rec := add(alice, s.resumed.Add(st.after), st)
		rec.FromConsole = ""
		rec.UserAgent = agentsCLI[0]
		rec.UserIdentity.AccessKeyID = alice.accessKey
		rec.UserIdentity.SessionContext = nil
	}
	return out
}

// loggingGap drops the production account's records written while its
// trail was stopped.
func (s *story) loggingGap(events []ctEvent) []ctEvent {
	kept := events[:0]
	for _, e := range events {
		if e.account == s.account && e.t.After(s.stopped) && e.t.Before(s.resumed) {
			continue
		}
		kept = append(kept, e)
	}
	return kept
}
