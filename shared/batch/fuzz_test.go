package batch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/udaconnect/udaconnect/shared/batch"
)

// Whatever fails in which batch, each caller gets what its own batch gave
// its own item: its result, its own error, or the error of the whole batch
// (a failure, a panic, a result of the wrong length). The fate of each batch
// is read from plan, one byte per batch written: 0 ok, 1 a batch error, 2
// an error for the odd items, 3 a panic, 4 too few results.
func FuzzCommitter(f *testing.F) {
	f.Add([]byte{0}, uint8(10), uint8(3), uint8(1))
	f.Add([]byte{1, 2, 3, 4, 0}, uint8(50), uint8(4), uint8(2))
	f.Add([]byte{3, 3, 2}, uint8(200), uint8(1), uint8(3))
	f.Fuzz(func(t *testing.T, plan []byte, items, maxSize, writers uint8) {
		if len(plan) == 0 {
			plan = []byte{0}
		}
		errBatch := errors.New("batch failed")
		var mu sync.Mutex
		fate := map[int]string{} // by item: what its batch did to it
		next := 0
		write := func(ctx context.Context, batch []int) ([]int, []error, error) {
			mu.Lock()
			mode := plan[next%len(plan)] % 5
			next++
			for _, n := range batch {
				fate[n] = []string{"ok", "batch", "own", "batch", "batch"}[mode]
				if mode == 2 && n%2 == 0 {
					fate[n] = "ok"
				}
			}
			mu.Unlock()
			results, errs := make([]int, len(batch)), make([]error, len(batch))
			for i, n := range batch {
				results[i] = 2 * n
				if n%2 == 1 {
					errs[i] = fmt.Errorf("item %d failed", n)
				}
			}
			switch mode {
			case 1:
				return nil, nil, errBatch
			case 2:
				return results, errs, nil
			case 3:
				panic("write panicked")
			case 4:
				return results[:len(results)-1], nil, nil
			}
			return results, nil, nil
		}
		c := batch.New(batch.Config{MaxSize: int(maxSize%20) + 1, Writers: int(writers%4) + 1, QueueSize: 256}, write)
		type answer struct {
			value int
			err   error
		}
		answers := make([]answer, int(items))
		var wg sync.WaitGroup
		for n := range answers {
			wg.Go(func() {
				v, err := c.Do(context.Background(), n)
				answers[n] = answer{v, err}
			})
		}
		wg.Wait()
		c.Close()
		for n, a := range answers {
			switch fate[n] {
			case "ok":
				if a.err != nil || a.value != 2*n {
					t.Errorf("item %d of a batch written = %d, %v; want %d", n, a.value, a.err, 2*n)
				}
			case "own":
				if a.err == nil || a.err.Error() != fmt.Sprintf("item %d failed", n) {
					t.Errorf("item %d that failed on its own = %v; want its own error", n, a.err)
				}
			case "batch":
				if a.err == nil || a.value != 0 {
					t.Errorf("item %d of a failed batch = %d, %v; want the batch's error", n, a.value, a.err)
				}
			default:
				t.Errorf("item %d was never written (answered %d, %v)", n, a.value, a.err)
			}
		}
	})
}
