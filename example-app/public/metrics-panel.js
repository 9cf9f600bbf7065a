'use strict'
// A small live panel: open connections and messages per second (in and out), read from
// /api/stats every 2 seconds. It makes its own element and stylesheet, so the page needs only
// the script tag.
;(function () {
  const INTERVAL_MS = 2000
  const css = document.createElement('link')
  css.rel = 'stylesheet'
  css.href = '/metrics-panel.css'
  document.head.appendChild(css)
  const panel = document.createElement('aside')
  panel.id = 'metrics-panel'
  panel.setAttribute('aria-label', 'server metrics')
  panel.innerHTML = '<span><b data-metric="open">–</b> connections</span>' +
    '<span><b data-metric="in">–</b> msg/s in</span><span><b data-metric="out">–</b> msg/s out</span>'
  const show = (name, value) => { panel.querySelector(`[data-metric="${name}"]`).textContent = value }

  let last = null
  async function poll () {
    try {
      const res = await fetch('/api/stats', { cache: 'no-store' })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      const now = await res.json()
      show('open', String(now.open))
      if (last !== null && now.at > last.at) {
        const seconds = (now.at - last.at) / 1000
        show('in', ((now.messagesIn - last.messagesIn) / seconds).toFixed(1))
        show('out', ((now.messagesOut - last.messagesOut) / seconds).toFixed(1))
      }
      last = now
      panel.dataset.state = 'live'
    } catch {
      panel.dataset.state = 'stale'
    }
  }

  function start () {
    document.body.appendChild(panel)
    poll()
    setInterval(poll, INTERVAL_MS)
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
