package inventory

import (
	"reflect"
	"strings"
)

var typesByName = map[string]reflect.Type{
	"Inventory":  reflect.TypeOf(Inventory{}),
	"Keepalived": reflect.TypeOf(Keepalived{}),
	"Check":      reflect.TypeOf(Check{}),
	"Database":   reflect.TypeOf(Database{}),
	"Repmgr":     reflect.TypeOf(Repmgr{}),
	"MaxLag":     reflect.TypeOf(MaxLag{}),
	"SSH":        reflect.TypeOf(SSH{}),
	"Node":       reflect.TypeOf(Node{}),
	"NodeSSH":    reflect.TypeOf(NodeSSH{}),
	"Witness":    reflect.TypeOf(Witness{}),
	"Secret":     reflect.TypeOf(Secret{}),
	"Metrics":    reflect.TypeOf(Metrics{}),
	"TLS":        reflect.TypeOf(TLS{}),
}

// knownFields lists the YAML keys of the named inventory type.
func knownFields(typ string) []string {
	t, ok := typesByName[typ]
	if !ok {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// closest returns the known field nearest to s, if it is near enough to be
// a likely typo or a truncation.
func closest(s string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		d := levenshtein(s, k)
		if strings.HasPrefix(k, s) || strings.HasPrefix(s, k) {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= 3 && bestD < len(s) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
