// Command benchsummary reads `go test -bench` output and prints the median
// of each benchmark's custom records/s metric, and the 2-core/1-core ratio.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	runs := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(f); i++ {
			if f[i+1] == "records/s" {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				if _, ok := runs[f[0]]; !ok {
					order = append(order, f[0])
				}
				runs[f[0]] = append(runs[f[0]], v)
			}
		}
	}
	med := map[string]float64{}
	for _, name := range order {
		v := runs[name]
		sort.Float64s(v)
		m := v[len(v)/2]
		if len(v)%2 == 0 {
			m = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		med[name] = m
		fmt.Printf("%-40s median %10.0f records/s over %d runs\n", name, m, len(v))
	}
	for _, name := range order {
		if strings.HasSuffix(name, "-2") {
			one := strings.TrimSuffix(name, "-2")
			if m1, ok := med[one]; ok && m1 > 0 {
				fmt.Printf("%-40s scaling 2 cores / 1 core: %.2fx\n", one, med[name]/m1)
			}
		}
	}
}
