// One process, in this order: the journeys (which leave the data the later checks look
// at), the keyboard run of the comment form, then the audit of every page type.
import './journey.mjs';
import './keyboard.mjs';
import './audit.mjs';
