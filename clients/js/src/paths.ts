/**
 * The data path's text, as the Python SDK makes it: `str(pathlib.Path(data_dir).absolute())` on
 * the OS (the `data_paths` vectors). Its hash tells installations apart, so every SDK must make the
 * same text from the same folder: a relative path joined to the working directory; separators made
 * the OS's own, repeated ones and `.` parts dropped, a trailing one dropped; `..`, the case and a
 * leading `//` (POSIX) or `\\server\share` (Windows) kept. Nothing resolves links, `~` or `..`
 * (Node's `path.resolve` would drop `..`: another text, another installation).
 */

export type PathFlavour = "posix" | "windows";

function posixText(path: string, cwd: string): string {
  const joined = path.startsWith("/") ? path : `${cwd.replace(/\/+$/, "")}/${path}`;
  const root = /^\/\/(?!\/)/.test(joined) ? "//" : "/";
  const parts = joined.split("/").filter((p) => p !== "" && p !== ".");
  return root + parts.join("/");
}

/** `[drive or \\server\share, rooted, parts]` of a Windows path (separators either way). */
function windowsParts(path: string): [string, boolean, string[]] {
  const text = path.replace(/\//g, "\\");
  let drive = "";
  let rest = text;
  const unc = /^\\\\([^\\]+)\\([^\\]+)/.exec(text);
  if (unc) {
    drive = `\\\\${unc[1]}\\${unc[2]}`;
    rest = text.slice(unc[0].length);
  } else if (/^[A-Za-z]:/.test(text)) {
    drive = text.slice(0, 2);
    rest = text.slice(2);
  }
  const rooted = rest.startsWith("\\") || (drive.startsWith("\\\\"));
  return [drive, rooted, rest.split("\\").filter((p) => p !== "" && p !== ".")];
}

function windowsText(path: string, cwd: string): string {
  let [drive, rooted, parts] = windowsParts(path);
  if (!rooted || !drive) {
    const [cwdDrive, , cwdParts] = windowsParts(cwd);
    if (!rooted && (!drive || drive.toLowerCase() === cwdDrive.toLowerCase())) {
      parts = [...cwdParts, ...parts];
      drive = drive || cwdDrive;
    } else if (!drive) {
      drive = cwdDrive; // rooted without a drive: the working directory's drive
    }
    rooted = true;
  }
  const root = drive.startsWith("\\\\") ? `${drive}\\` : `${drive}\\`;
  return root + parts.join("\\");
}

/** The absolute text of `dataDir` on `flavour`'s OS with working directory `cwd`. */
export function absoluteText(dataDir: string, flavour: PathFlavour, cwd: string): string {
  return flavour === "windows" ? windowsText(dataDir, cwd) : posixText(dataDir, cwd);
}

/** This process's absolute text of `dataDir` (its OS, its working directory). */
export function absolutePath(dataDir: string): string {
  return absoluteText(dataDir, process.platform === "win32" ? "windows" : "posix", process.cwd());
}
