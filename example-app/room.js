'use strict'
// A room's state in this process: the last messages (sent to whoever joins) and who is in it.
// A nickname may be connected several times (two tabs); it joins on its first connection and
// leaves with its last. With a multi-process pub/sub adapter this state would move to a shared
// store; the pub/sub events themselves already cross processes.

class Room {
  constructor (name, historySize) {
    this.name = name
    this.topic = `room:${name}`
    this.historySize = historySize
    /** oldest first */
    this.history = []
    /** nickname -> number of open connections */
    this.connections = new Map()
  }

  remember (event) {
    this.history.push(event)
    if (this.history.length > this.historySize) this.history.shift()
  }

  /** true when this is the nickname's first connection (a join to announce) */
  join (nickname) {
    const n = this.connections.get(nickname) ?? 0
    this.connections.set(nickname, n + 1)
    return n === 0
  }

  /** true when this was the nickname's last connection (a leave to announce) */
  leave (nickname) {
    const n = this.connections.get(nickname) ?? 0
    if (n > 1) {
      this.connections.set(nickname, n - 1)
      return false
    }
    return this.connections.delete(nickname)
  }

  members () {
    return [...this.connections.keys()].sort((a, b) => a.localeCompare(b))
  }

  get empty () {
    return this.connections.size === 0
  }
}

/** Rooms by name, at most `maxRooms`: beyond that the oldest empty room is forgotten. */
class Rooms {
  constructor ({ historySize = 50, maxRooms = 1000 } = {}) {
    this.historySize = historySize
    this.maxRooms = maxRooms
    this.rooms = new Map()
  }

  get (name) {
    let room = this.rooms.get(name)
    if (room === undefined) {
      room = new Room(name, this.historySize)
      this.rooms.set(name, room)
      if (this.rooms.size > this.maxRooms) this.evictOneEmpty()
    }
    return room
  }

  evictOneEmpty () {
    for (const [name, room] of this.rooms) {
      if (room.empty) {
        this.rooms.delete(name)
        return
      }
    }
  }
}

module.exports = { Room, Rooms }
