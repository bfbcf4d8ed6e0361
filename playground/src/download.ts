/** Offer `blob` as a file download named `fileName`. */
export function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // the download has started by the next turn; keep the URL a while for slow browsers
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
