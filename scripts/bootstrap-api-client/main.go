// Command bootstrap-api-client is the one-time setup step: it creates an
// Acronis API client with a console user's login and password and stores the
// result in Secrets Manager (or prints the aws command to do it).
//
//	go run ./scripts/bootstrap-api-client -base-url https://eu2-cloud.acronis.com -login admin \
//	    -secret-id <AcronisClientSecretArn from the stack outputs>
//
// The password is read from the terminal without echo (or from standard
// input when it is not a terminal) and is never stored or printed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/acp-serverless/acp-serverless/shared/acronis"
	"github.com/acp-serverless/acp-serverless/shared/awsenv"
	"github.com/acp-serverless/acp-serverless/shared/secrets"
	"golang.org/x/term"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap-api-client:", err)
		os.Exit(1)
	}
}

// run is main without the process: store is nil for the real Secrets Manager.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, store secrets.Store) error {
	fs := flag.NewFlagSet("bootstrap-api-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseURL := fs.String("base-url", "", "data centre URL, e.g. https://eu2-cloud.acronis.com (required)")
	login := fs.String("login", "", "console login of an administrator of the partner tenant (required)")
	name := fs.String("client-name", "acp-serverless", "name the API client shows in the console")
	secretID := fs.String("secret-id", "", "Secrets Manager secret to write (the stack's AcronisClientSecret); empty: print the aws command instead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *baseURL == "" || *login == "" {
		fs.Usage()
		return errors.New("-base-url and -login are required")
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	user := acronis.ConsoleLogin{BaseURL: *baseURL, Login: *login, Password: password}
	creds, err := acronis.CreateAPIClient(ctx, acronis.NewHTTPClient(acronis.HTTPOptions{}), user, *name)
	if err != nil {
		return err
	}
	value, _ := json.Marshal(creds)
	if *secretID == "" {
		fmt.Fprintf(stderr, "API client %s created. Its secret is shown once, below; store it now.\n", creds.ClientID)
		fmt.Fprintf(stdout, "aws secretsmanager put-secret-value --secret-id <AcronisClientSecretArn> --secret-string '%s'\n", value)
		return nil
	}
	if store == nil {
		cfg, err := awsenv.Load(ctx, "")
		if err != nil {
			return err
		}
		store = &secrets.SecretsManager{Client: awsenv.SecretsManager(cfg)}
	}
	if err := store.Put(ctx, *secretID, value); err != nil {
		return fmt.Errorf("API client %s created but not stored (%w); reset its secret in the console and retry", creds.ClientID, err)
	}
	fmt.Fprintf(stdout, "API client %s created and stored in %s. Next: invoke token-refresh with {\"force\": true}.\n", creds.ClientID, *secretID)
	return nil
}

func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
