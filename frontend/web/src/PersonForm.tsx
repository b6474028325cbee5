import { useRef, useState, type FormEvent } from 'react';
import { ApiError, createPerson, type NewPerson, type Person } from './api';
import { fullName } from './format';
import { errorMessage } from './load';
import { signInLink } from './signin';
import { SignInLink } from './SignInLink';

// MaxNameLength bounds each name, as the server does.
export const MaxNameLength = 200;

type Field = keyof NewPerson;
const fields: { name: Field; label: string; autoComplete: string }[] = [
  { name: 'first_name', label: 'First name', autoComplete: 'given-name' },
  { name: 'last_name', label: 'Last name', autoComplete: 'family-name' },
  { name: 'company_name', label: 'Company', autoComplete: 'organization' },
];

export function validatePerson(p: NewPerson): Partial<Record<Field, string>> {
  const problems: Partial<Record<Field, string>> = {};
  for (const f of fields) {
    const value = p[f.name].trim();
    if (value === '') problems[f.name] = `${f.label} is required.`;
    else if ([...value].length > MaxNameLength) problems[f.name] = `${f.label} must be at most ${MaxNameLength} characters.`;
  }
  return problems;
}

const empty: NewPerson = { first_name: '', last_name: '', company_name: '' };

export function PersonForm({ onCreated }: { onCreated: (p: Person) => void }) {
  const [values, setValues] = useState<NewPerson>(empty);
  const [touched, setTouched] = useState<Partial<Record<Field, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<{ field?: Field; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  const [issued, setIssued] = useState<{ name: string; link: string } | null>(null);
  const form = useRef<HTMLFormElement>(null);

  const problems = validatePerson(values);
  const shown = (f: Field) => (submitted || touched[f] ? problems[f] : undefined) ?? (serverError?.field === f ? serverError.message : undefined);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    setServerError(null);
    setDone('');
    setIssued(null);
    const invalid = fields.find((f) => problems[f.name]);
    if (invalid) {
      form.current?.querySelector<HTMLInputElement>(`[name="${invalid.name}"]`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const { token, ...person } = await createPerson({
        first_name: values.first_name.trim(),
        last_name: values.last_name.trim(),
        company_name: values.company_name.trim(),
      });
      setValues(empty);
      setTouched({});
      setSubmitted(false);
      setDone(`Registered ${fullName(person)}.`);
      setIssued({ name: fullName(person), link: signInLink(token) });
      onCreated(person);
    } catch (err) {
      const message = errorMessage(err);
      const field = err instanceof ApiError ? (fields.find((f) => f.name === err.field || message.includes(f.name))?.name ?? undefined) : undefined;
      setServerError({ field, message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <form ref={form} className="register" onSubmit={submit} noValidate aria-labelledby="register-heading">
        <h2 id="register-heading">Register a person</h2>
        {fields.map((f) => {
          const problem = shown(f.name);
          return (
            <div className="field" key={f.name}>
              <label htmlFor={`register-${f.name}`}>{f.label}</label>
              <input
                id={`register-${f.name}`}
                name={f.name}
                value={values[f.name]}
                autoComplete={f.autoComplete}
                required
                aria-invalid={problem ? true : undefined}
                aria-describedby={problem ? `register-${f.name}-problem` : undefined}
                onChange={(e) => {
                  setValues({ ...values, [f.name]: e.target.value });
                  if (serverError?.field === f.name) setServerError(null);
                }}
                onBlur={() => setTouched({ ...touched, [f.name]: true })}
              />
              {problem && (
                <p className="problem" id={`register-${f.name}-problem`}>
                  {problem}
                </p>
              )}
            </div>
          );
        })}
        {serverError && !serverError.field && (
          <p className="state error" role="alert">
            The person could not be registered. {serverError.message}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Registering…' : 'Register'}
        </button>
        <p className="done" role="status">
          {done}
        </p>
      </form>
      {issued && <SignInLink {...issued} onDismiss={() => setIssued(null)} />}
    </>
  );
}
