package normalize

import "strings"

// numericSuffixes are the ECS leaf names whose type is a number (long,
// integer, float or scaled_float) in the ECS schema. Values mapped into
// these fields are written as JSON numbers.
var numericSuffixes = []string{
	".port", ".bytes", ".packets", ".duration", ".severity", ".number",
	".status_code", ".sequence", ".risk_score", ".risk_score_norm",
	".pid", ".ppid", ".uptime", ".exit_code", ".line", ".size",
	".count", ".answers_count",
}

// IsNumericField reports whether an ECS field is numeric.
func IsNumericField(name string) bool {
	for _, s := range numericSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
