import { useRef, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ApiError, createPerson, personsPage, personsPath, type NewPerson, type Person } from './api';
import { fullName } from './format';
import { errorMessage } from './load';

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

const same = (a: string, b: string) => a.trim().toLocaleLowerCase() === b.trim().toLocaleLowerCase();

// isDuplicate reports whether p has the names and company of n, case aside.
export function isDuplicate(p: Person, n: NewPerson): boolean {
  return same(p.first_name, n.first_name) && same(p.last_name, n.last_name) && same(p.company_name, n.company_name);
}

// useDuplicates finds the people registered with the names and company of
// n, through the people search, once all three are given. It asks again
// each time: an answer kept from before a registration, even one that
// arrived after it, would hide the person just registered.
function useDuplicates(n: NewPerson): Person[] {
  const complete = fields.every((f) => n[f.name].trim() !== '');
  const words = `${n.first_name} ${n.last_name} ${n.company_name}`;
  const found = useQuery({
    queryKey: ['persons', 'duplicates', words.trim().toLocaleLowerCase()],
    queryFn: ({ signal }) => personsPage(personsPath(words, 20), signal),
    enabled: complete,
    staleTime: 0,
  });
  return complete ? (found.data?.items.filter((p) => isDuplicate(p, n)) ?? []) : [];
}

// PersonForm registers a person; a field's problem shows once the user has
// left it after typing, or submitted. A person with the same names and
// company as one registered is warned of, not refused.
export function PersonForm({ onCreated }: { onCreated: (p: Person, token: string) => void }) {
  const [values, setValues] = useState<NewPerson>(empty);
  const [checked, setChecked] = useState<NewPerson>(empty); // as the fields were left
  const [dirty, setDirty] = useState<Partial<Record<Field, boolean>>>({});
  const [touched, setTouched] = useState<Partial<Record<Field, boolean>>>({});
  const [submitted, setSubmitted] = useState(false);
  const [serverError, setServerError] = useState<{ field?: Field; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  const form = useRef<HTMLFormElement>(null);
  const duplicates = useDuplicates(checked);

  const problems = validatePerson(values);
  const shown = (f: Field) => (submitted || touched[f] ? problems[f] : undefined) ?? (serverError?.field === f ? serverError.message : undefined);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    setServerError(null);
    setDone('');
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
      setChecked(empty);
      setDirty({});
      setTouched({});
      setSubmitted(false);
      setDone(`Registered ${fullName(person)}.`);
      onCreated(person, token);
    } catch (err) {
      const message = errorMessage(err);
      const field = err instanceof ApiError ? (fields.find((f) => f.name === err.field || message.includes(f.name))?.name ?? undefined) : undefined;
      setServerError({ field, message });
    } finally {
      setBusy(false);
    }
  }

  return (
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
                  setDirty({ ...dirty, [f.name]: true });
                  if (serverError?.field === f.name) setServerError(null);
                }}
                onBlur={() => {
                  if (dirty[f.name]) setTouched({ ...touched, [f.name]: true });
                  setChecked(values);
                }}
              />
              {problem && (
                <p className="problem" id={`register-${f.name}-problem`}>
                  {problem}
                </p>
              )}
            </div>
          );
        })}
        {duplicates.length > 0 && (
          <p className="warning" role="status">
            Likely already registered: {duplicates.map((p) => `${fullName(p)} of ${p.company_name} (number ${p.id})`).join('; ')}. Register only if this is
            someone else.
          </p>
        )}
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
  );
}
