import {access} from 'node:fs/promises'

/** Whether systemd runs this machine (/run/systemd/system exists, as sd_booted(3) checks): only then is systemctl worth asking. */
export async function systemdRuns(): Promise<boolean> {
  return access('/run/systemd/system').then(
    () => true,
    () => false,
  )
}
