// dialog.js - confirmation dialogs for actions that matter (start, complete a stage, abort),
// small forms (a new briefing), and the keyboard shortcuts sheet. Built on <dialog>: modal,
// Escape cancels, focus is trapped by the browser and returns to the button that opened it.

import { h } from './dom.js';

// Ask before acting. Resolves {ok: true, reason} or {ok: false}.
// opts: {title, body (string|Node|array), confirmLabel, danger, reason: {label, required},
//        typeToConfirm: 'word' (a deliberate act: the confirm button stays disabled until the
//        person has typed exactly that word), className (extra class of the dialog)}
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    let reasonInput = null;
    let typed = null;
    const error = h('p', { class: 'dialog-error', role: 'alert' });
    const fields = [];
    if (opts.reason) {
      reasonInput = h('textarea', {
        id: 'dialog-reason',
        rows: 3,
        'aria-required': opts.reason.required ? 'true' : null,
        'aria-label': opts.reason.label,
      });
      fields.push(h('label', { for: 'dialog-reason', class: 'field-label' }, opts.reason.label), reasonInput);
    }
    const cancel = opts.noCancel ? null : h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
    const confirm = h('button', { type: 'submit', class: opts.danger ? 'btn btn-danger' : 'btn btn-primary' },
      opts.confirmLabel || 'Confirm');
    if (opts.typeToConfirm) {
      const word = opts.typeToConfirm;
      const label = `Type ${word} to confirm`;
      typed = h('input', {
        id: 'dialog-typed',
        type: 'text',
        class: 'form-input type-confirm',
        autocomplete: 'off',
        autocapitalize: 'off',
        spellcheck: 'false',
        'aria-required': 'true',
        'aria-describedby': 'dialog-typed-hint',
      });
      const sync = () => {
        confirm.disabled = typed.value.trim() !== word;
      };
      typed.addEventListener('input', sync);
      sync();
      fields.push(
        h('label', { for: 'dialog-typed', class: 'field-label' }, 'Type ', h('code', null, word), ' to confirm'),
        typed,
        h('p', { id: 'dialog-typed-hint', class: 'hint' }, `${label}: the button stays disabled until it matches.`));
    }
    // novalidate: we say what is missing ourselves, in the dialog, in words.
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: 'dialog-title' }, opts.title),
      h('div', { class: 'dialog-body' }, opts.body || null),
      fields,
      error,
      h('div', { class: 'dialog-actions' }, cancel, confirm));
    const dlg = h('dialog', { class: `dialog${opts.className ? ` ${opts.className}` : ''}`, 'aria-labelledby': 'dialog-title' }, form);

    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      dlg.close();
      dlg.remove();
      if (opener && opener.isConnected && opener.focus) opener.focus();
      resolve(result);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const reason = reasonInput ? reasonInput.value.trim() : undefined;
      if (opts.reason && opts.reason.required && !reason) {
        error.textContent = `${opts.reason.label} is required.`;
        reasonInput.focus();
        return;
      }
      if (typed && typed.value.trim() !== opts.typeToConfirm) {
        error.textContent = `Type ${opts.typeToConfirm} to confirm.`;
        typed.focus();
        return;
      }
      finish({ ok: true, reason });
    });
    if (cancel) cancel.addEventListener('click', () => finish({ ok: false }));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish({ ok: false });
    });
    document.body.append(dlg);
    dlg.showModal();
    (reasonInput || confirm).focus();
  });
}

// A small form in a dialog (a new briefing). Resolves {ok: true, values} or {ok: false}.
// fields: [{name, label, kind: 'text'|'textarea'|'datetime'|'checks'|'select'|'checkbox'|'number',
//           required, value, hint,
//           options: [{value, label, checked}] (checks and select only)}]
// A 'checkbox' gives true/false; a 'number' gives a whole number, or refuses what is not one.
export function formDialog(opts) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const error = h('p', { class: 'dialog-error', role: 'alert' });
    const inputs = new Map();
    const rows = opts.fields.map((f) => {
      const id = `dlg-${f.name}`;
      if (f.kind === 'checks') {
        const boxes = f.options.map((o) => {
          const box = h('input', { type: 'checkbox', id: `${id}-${o.value}`, value: o.value, checked: o.checked ? true : null });
          return { o, box };
        });
        inputs.set(f.name, { f, boxes });
        return h('fieldset', { class: 'checks' },
          h('legend', { class: 'field-label' }, f.label),
          boxes.map(({ o, box }) => h('label', { class: 'check', for: box.id }, box, ' ', o.label)));
      }
      const hintId = f.hint ? `${id}-hint` : null;
      const hint = f.hint ? h('p', { id: hintId, class: 'hint field-hint' }, f.hint) : null;
      if (f.kind === 'checkbox') {
        const box = h('input', { type: 'checkbox', id, checked: f.value ? true : null, 'aria-describedby': hintId });
        inputs.set(f.name, { f, box });
        return [h('label', { class: 'check check-field', for: id }, box, ' ', f.label), hint];
      }
      let input;
      if (f.kind === 'textarea') {
        input = h('textarea', { id, rows: 3, 'aria-required': f.required ? 'true' : null, 'aria-describedby': hintId });
      } else if (f.kind === 'select') {
        input = h('select', { id, class: 'form-input', 'aria-describedby': hintId },
          f.options.map((o) => h('option', { value: o.value }, o.label)));
      } else {
        input = h('input', {
          id,
          type: f.kind === 'datetime' ? 'datetime-local' : 'text',
          inputmode: f.kind === 'number' ? 'numeric' : null,
          class: 'form-input',
          autocomplete: 'off',
          'aria-required': f.required ? 'true' : null,
          'aria-describedby': hintId,
        });
      }
      if (f.value !== undefined && f.value !== null) input.value = String(f.value);
      inputs.set(f.name, { f, input });
      return [h('label', { for: id, class: 'field-label' }, f.label), input, hint];
    });
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const confirm = h('button', { type: 'submit', class: 'btn btn-primary' }, opts.confirmLabel || 'Save');
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: 'dialog-title' }, opts.title),
      opts.body ? h('div', { class: 'dialog-body' }, opts.body) : null,
      rows, error,
      h('div', { class: 'dialog-actions' }, cancel, confirm));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' }, form);
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      dlg.close();
      dlg.remove();
      if (opener && opener.isConnected && opener.focus) opener.focus();
      resolve(result);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const values = {};
      for (const [name, it] of inputs) {
        if (it.box) {
          values[name] = it.box.checked;
        } else if (it.boxes) {
          values[name] = it.boxes.filter((b) => b.box.checked).map((b) => b.o.value);
          if (it.f.required && values[name].length === 0) {
            error.textContent = `${it.f.label}: choose at least one.`;
            it.boxes[0].box.focus();
            return;
          }
        } else {
          values[name] = it.input.value.trim();
          if (it.f.required && !values[name]) {
            error.textContent = `${it.f.label} is required.`;
            it.input.focus();
            return;
          }
          if (it.f.kind === 'number' && values[name]) {
            const n = /^[0-9]{1,15}$/.test(values[name]) ? Number(values[name]) : NaN;
            if (!Number.isSafeInteger(n) || n < 1) {
              error.textContent = `${it.f.label} must be a whole number such as 42.`;
              it.input.focus();
              return;
            }
            values[name] = n;
          }
        }
      }
      finish({ ok: true, values });
    });
    cancel.addEventListener('click', () => finish({ ok: false }));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish({ ok: false });
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = form.querySelector('input, textarea, select');
    (first || confirm).focus();
  });
}

// A plain message (e.g. why a stage could not be completed).
export function infoDialog(title, body) {
  return confirmDialog({ title, body, confirmLabel: 'OK', noCancel: true });
}

// The keyboard shortcuts sheet ("?").
export function shortcutsDialog() {
  const rows = [
    ['j  or  ↓', 'next step'],
    ['k  or  ↑', 'previous step'],
    ['x  or  Space', 'tick the focused step (or confirm someone else\'s critical tick)'],
    ['n', 'tick the focused step with a note'],
    ['s', 'skip the focused step (asks a reason)'],
    ['f', 'mark the focused step failed (asks a note)'],
    ['u', 'untick the focused step'],
    ['c', 'copy the focused step\'s command'],
    ['?', 'show this help'],
    ['Esc', 'close a dialog or form'],
  ];
  const table = h('table', { class: 'shortcuts' },
    h('tbody', null, rows.map(([keys, what]) => h('tr', null, h('th', { scope: 'row' }, h('kbd', null, keys)), h('td', null, what)))));
  return infoDialog('Keyboard shortcuts', table);
}

// True while any modal dialog is open (keyboard shortcuts stay out of its way).
export function dialogOpen() {
  return document.querySelector('dialog[open]') !== null;
}
