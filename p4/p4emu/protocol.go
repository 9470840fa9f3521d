package p4emu

import (
	"bufio"
	"encoding/gob"
	"net"
)

// request is what the client sends for one command. It carries the parsed
// global options so that the server can render the exact bytes the real
// client would print; stdin travels separately from argv so the invocation
// record can never contain it.
type request struct {
	Hello    bool     // only ask for the fingerprint (ssl: trust check)
	Argv     []string // the client's full argv (os.Args[1:]), for the record
	Command  string
	Args     []string // command arguments
	User     string
	Password string // P4PASSWD or -P: password or ticket
	Ticket   string // from P4TICKETS for this port and user
	Client   string
	Host     string
	Port     string // P4PORT as the client saw it
	Mode     Mode
	Stdin    []byte
}

// response is the server's answer.
type response struct {
	Fingerprint string
	Stdout      []byte
	Stderr      []byte
	Exit        int
	// TicketUser/Ticket ask the client to store a ticket (after login);
	// RemoveTicket asks it to drop the line for TicketUser (after logout).
	TicketUser   string
	Ticket       string
	RemoveTicket bool
}

// conn wraps a TCP connection with gob framing.
type conn struct {
	c   net.Conn
	enc *gob.Encoder
	dec *gob.Decoder
	w   *bufio.Writer
}

func newConn(c net.Conn) *conn {
	w := bufio.NewWriter(c)
	return &conn{c: c, enc: gob.NewEncoder(w), dec: gob.NewDecoder(bufio.NewReader(c)), w: w}
}

func (c *conn) send(v any) error {
	if err := c.enc.Encode(v); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *conn) recv(v any) error { return c.dec.Decode(v) }
