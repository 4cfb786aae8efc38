package sigma

import "strings"

// LogsourceMapping maps a Sigma logsource to the Vigil log types (the
// es-loader type names, e.g. "cloudtrail") whose documents it describes.
//
// A rule's logsource selects every mapping whose non-empty Product, Service
// and Category all equal the rule's (case-insensitively), for each of those
// the rule sets: a rule with `product: aws` alone selects every AWS type, one
// with `product: aws, service: cloudtrail` only cloudtrail. A rule without a
// logsource applies to every log type; a rule whose logsource selects no
// mapping applies to none (it still runs when Match is called without a log
// type).
type LogsourceMapping struct {
	Product  string
	Service  string
	Category string
	LogTypes []string
}

// DefaultLogsources returns the built-in mapping table. Callers extend it by
// appending their own entries and passing the result in
// Options.Logsources. The table is returned fresh on every call.
func DefaultLogsources() []LogsourceMapping {
	aws := func(service string, types ...string) LogsourceMapping {
		return LogsourceMapping{Product: "aws", Service: service, LogTypes: types}
	}
	return []LogsourceMapping{
		aws("cloudtrail", "cloudtrail"),
		aws("guardduty", "guardduty"),
		aws("vpcflow", "vpcflowlogs"),
		aws("vpcflowlogs", "vpcflowlogs"),
		aws("route53", "route53resolver"),
		aws("route53resolver", "route53resolver"),
		aws("waf", "waf"),
		aws("s3", "s3accesslog"),
		aws("s3accesslog", "s3accesslog"),
		aws("securityhub", "securityhub"),
		aws("inspector", "inspector"),
		aws("networkfirewall", "networkfirewall"),
		aws("elb", "alb", "nlb", "clb"),
		aws("alb", "alb"),
		aws("nlb", "nlb"),
		aws("clb", "clb"),
		aws("cloudfront", "cloudfront-standard", "cloudfront-realtime"),
		aws("config", "config-history", "config-snapshot", "config-rules"),
		aws("clientvpn", "clientvpn"),
		aws("rds", "rds-postgresql", "rds-mysql-audit", "rds-mysql-general", "rds-mysql-error", "rds-mysql-slowquery"),
		aws("opensearch", "opensearch-audit"),
		aws("workspaces", "workspaces-event", "workspaces-inventory"),
		aws("directoryservice", "directory-service"),
		aws("securitylake", "securitylake", "ocsf-json"),
		{Product: "linux", Service: "auth", LogTypes: []string{"linux-secure"}},
		{Product: "linux", Service: "sshd", LogTypes: []string{"linux-secure"}},
		{Product: "linux", Service: "sudo", LogTypes: []string{"linux-secure"}},
		{Product: "linux", Service: "syslog", LogTypes: []string{"linux-os-syslog"}},
		{Product: "linux", LogTypes: []string{"linux-secure", "linux-os-syslog"}},
		{Product: "windows", LogTypes: []string{"windows-event", "fsx-win"}},
		{Product: "apache", LogTypes: []string{"apache-access", "apache-error"}},
		{Product: "nginx", LogTypes: []string{"nginx-access", "nginx-error"}},
		{Category: "webserver", LogTypes: []string{"apache-access", "nginx-access", "alb", "clb", "cloudfront-standard", "cloudfront-realtime"}},
		{Category: "dns", LogTypes: []string{"route53resolver"}},
		{Category: "firewall", LogTypes: []string{"vpcflowlogs", "networkfirewall", "waf"}},
	}
}

// LogTypes returns the log types the logsource selects in table, and
// whether it applies to every log type (an empty logsource).
func (ls Logsource) LogTypes(table []LogsourceMapping) (types []string, all bool) {
	if ls.Product == "" && ls.Service == "" && ls.Category == "" {
		return nil, true
	}
	seen := map[string]bool{}
	for _, m := range table {
		if !logsourceFieldMatch(ls.Product, m.Product) ||
			!logsourceFieldMatch(ls.Service, m.Service) ||
			!logsourceFieldMatch(ls.Category, m.Category) {
			continue
		}
		for _, t := range m.LogTypes {
			if !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	return types, false
}

// logsourceFieldMatch: a field the rule sets must equal the mapping's; a
// field the rule leaves empty matches anything.
func logsourceFieldMatch(rule, mapping string) bool {
	return rule == "" || strings.EqualFold(rule, mapping)
}
