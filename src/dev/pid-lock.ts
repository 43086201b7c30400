import { open, readFile, rm } from "node:fs/promises";

/**
 * A pid file that keeps a second process from using the same folder: taken if free or left by
 * a process that is gone. Returns a release function, or the pid of the live holder.
 */
export async function takePidLock(path: string): Promise<(() => Promise<void>) | number> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        return holder;
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${path}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
