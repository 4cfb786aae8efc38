// Package rules carries Vigil's own Sigma rule pack in the binary: the
// directories beside this file, one per log source. vigil demo writes them
// out as the rules of its data directory.
package rules

import "embed"

// FS holds the rule files under their directory names
// (cloudtrail/root-account-usage.yml, ...).
//
//go:embed cloudtrail guardduty linux route53 securityhub vpcflow
var FS embed.FS
