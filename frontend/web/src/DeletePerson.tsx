import { useRef, useState } from 'react';
import { deletePerson, type Person } from './api';
import { fullName } from './format';
import { errorMessage } from './load';

interface Props {
  person: Person;
  onDeleted: (p: Person) => void;
}

// DeletePerson deletes a person with their reports and meetings, once the
// organizer has said yes to what it deletes.
export function DeletePerson({ person, onDeleted }: Props) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const ask = useRef<HTMLButtonElement>(null);
  const name = fullName(person);

  async function remove() {
    setBusy(true);
    setProblem('');
    try {
      await deletePerson(person.id);
      onDeleted(person);
    } catch (err) {
      setProblem(`${name} could not be deleted. ${errorMessage(err)}`);
      setBusy(false);
    }
  }

  function cancel() {
    setAsking(false);
    setProblem('');
    ask.current?.focus();
  }

  return (
    <div className="delete-person">
      <button ref={ask} type="button" className="secondary" aria-expanded={asking} onClick={() => setAsking(true)}>
        Delete {name}…
      </button>
      {asking && (
        <div className="confirm" role="group" aria-label={`Delete ${name}`}>
          <p>Delete {name} with their reports and meetings, for everyone? This cannot be undone.</p>
          <button type="button" className="danger" onClick={remove} disabled={busy}>
            {busy ? 'Deleting…' : 'Delete'}
          </button>
          <button type="button" className="secondary" onClick={cancel} autoFocus>
            Cancel
          </button>
          {problem && (
            <p className="problem" role="alert">
              {problem}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
