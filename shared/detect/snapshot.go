package detect

// MarshalBinary encodes the detector's whole state (for scale to zero and
// failover); UnmarshalBinary restores it into a detector made by New.
func (d *Detector) MarshalBinary() ([]byte, error) {
	panic("todo")
}

// UnmarshalBinary restores a state encoded by MarshalBinary.
func (d *Detector) UnmarshalBinary(data []byte) error {
	panic("todo")
}
