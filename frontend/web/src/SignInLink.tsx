import { useEffect, useState } from 'react';
import QRCode from 'qrcode';

interface Props {
  name: string;
  link: string;
  onDismiss: () => void;
}

// SignInLink shows a new attendee's sign-in link, to copy or to scan.
export function SignInLink({ name, link, onDismiss }: Props) {
  const [qr, setQR] = useState('');
  const [copied, setCopied] = useState('');

  useEffect(() => {
    let current = true;
    setQR(''); // never the code of an earlier link
    QRCode.toString(link, { type: 'svg', margin: 2 }).then(
      (svg) => current && setQR(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`),
      () => current && setQR(''),
    );
    return () => {
      current = false;
    };
  }, [link]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
      setCopied('Copied.');
    } catch {
      setCopied('Could not copy: select the link and copy it.');
    }
  }

  return (
    <section className="issued" aria-labelledby="issued-heading">
      <h3 id="issued-heading">Sign-in link for {name}</h3>
      <p>Give it to {name} alone: it shows where they were. It is shown only this once.</p>
      <div className="field">
        <label htmlFor="issued-link">Sign-in link</label>
        <input id="issued-link" readOnly value={link} onFocus={(e) => e.target.select()} />
      </div>
      <div className="actions">
        <button type="button" onClick={copy}>
          Copy link
        </button>
        <button type="button" className="secondary" onClick={onDismiss}>
          Done
        </button>
        <span role="status">{copied}</span>
      </div>
      {qr && <img className="qr" src={qr} alt={`QR code of the sign-in link for ${name}`} />}
    </section>
  );
}
