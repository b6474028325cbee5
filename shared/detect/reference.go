package detect

import "time"

// Reference computes the meetings of reports clipped at now, the plain way:
// each person's held intervals, then for each pair every elementary interval
// between the two persons' boundaries. It is slow and obviously right: the
// oracle that Detector is tested against. The result is sorted by (A, B,
// Started).
func Reference(p Params, reports []Report, now time.Time) []Meeting {
	panic("todo")
}
